import { describe, expect, it } from 'vitest';
import { parseRetryAfter as clientRule } from '../../clients/typescript/src/retry-policy.ts';
import { parseRetryAfter as serverRule } from '../../src/retry-policy.ts';
import { NOW, RETRY_AFTER_CASES } from './retry-after-cases.ts';

describe.each([
  ['the server', serverRule],
  ['the client package', clientRule],
])('Retry-After as %s reads it', (_, parseRetryAfter) => {
  it.each(RETRY_AFTER_CASES)('%j → %j ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });
});
