import { describe, expect, it } from 'vitest';
import { addressOf } from '../helpers/services.ts';

describe('addressOf (test services)', () => {
  it('reads host and port out of the URL', () => {
    expect(addressOf('postgres://postgres@10.1.2.3:6543/postgres')).toEqual({ host: '10.1.2.3', port: 6543 });
    expect(addressOf('redis://:pw@127.0.0.2:7000/2')).toEqual({ host: '127.0.0.2', port: 7000 });
    expect(addressOf('redis://[::1]:7001')).toEqual({ host: '::1', port: 7001 });
  });

  it("falls back to the scheme's default port", () => {
    expect(addressOf('postgresql://u@db.internal/x')).toEqual({ host: 'db.internal', port: 5432 });
    expect(addressOf('rediss://cache.internal')).toEqual({ host: 'cache.internal', port: 6379 });
  });

  it('refuses a scheme it has no default port for', () => {
    expect(() => addressOf('http://x')).toThrow(/no default port/);
  });
});
