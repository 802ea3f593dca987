import { describe, expect, it } from 'vitest';
import { MAX_WAIT_SECONDS, preferredWaitSeconds } from '../../src/http/prefer.ts';

describe('preferredWaitSeconds', () => {
  it('reads wait=N, alone or among other preferences, in any case and with white space', () => {
    expect(preferredWaitSeconds('wait=10')).toBe(10);
    expect(preferredWaitSeconds('respond-async, wait=5')).toBe(5);
    expect(preferredWaitSeconds('WAIT = 7 ')).toBe(7);
    expect(preferredWaitSeconds('return=minimal, wait=3; foo=bar')).toBe(3);
    expect(preferredWaitSeconds('wait="4"')).toBe(4);
    expect(preferredWaitSeconds('wait=0')).toBe(0);
  });

  it('reads it from any of several Prefer headers; the first wait wins', () => {
    expect(preferredWaitSeconds(['respond-async', 'wait=8'])).toBe(8);
    expect(preferredWaitSeconds('wait=2, wait=9')).toBe(2);
  });

  it(`caps the wait at ${MAX_WAIT_SECONDS} s`, () => {
    expect(preferredWaitSeconds(`wait=${MAX_WAIT_SECONDS + 1}`)).toBe(MAX_WAIT_SECONDS);
    expect(preferredWaitSeconds('wait=99999999999999999999999')).toBe(MAX_WAIT_SECONDS);
  });

  it('ignores an absent or malformed preference instead of failing the request', () => {
    for (const header of [
      undefined,
      '',
      'respond-async',
      'wait',
      'wait=',
      'wait=-1',
      'wait=abc',
      'wait=1.5',
      'wait=1e3',
      'waiting=5',
      'handling=lenient;wait=5',
    ]) {
      expect(preferredWaitSeconds(header), String(header)).toBeUndefined();
    }
  });
});
