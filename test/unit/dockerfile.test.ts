import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

const ROOT = new URL('../../', import.meta.url);

/** The `ENV name=value` settings of the image, as the processes in it see them. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(new URL('Dockerfile', ROOT), 'utf8').split('\n')) {
    const m = /^ENV\s+([A-Z_][A-Z0-9_]*)=(\S+)\s*$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

describe('the image (Dockerfile)', () => {
  it('runs the API on all interfaces, and keeps the admin server on loopback', () => {
    // what an operator adds to the image: a token of their own (keys come from `npm run keys`)
    const config = loadConfig({ ...imageEnv(), ADMIN_TOKEN: 'adm_0f3c9a71e2b84d5690c1a7e3f2d4b6c8', LOG_LEVEL: 'silent' });
    expect(config.production).toBe(true);
    expect(config.host).toBe('0.0.0.0');
    expect(config.admin.host).toBe('127.0.0.1');
  });

  it('refuses to serve the public demo credentials from the image, whatever NODE_ENV an operator sets', () => {
    expect(() => loadConfig({ ...imageEnv(), LOG_LEVEL: 'silent' })).toThrow(/ADMIN_TOKEN: required in production/);
    expect(() => loadConfig({ ...imageEnv(), NODE_ENV: 'development', LOG_LEVEL: 'silent' })).toThrow(
      /API_KEYS: the public demo secret .* refused while a server listens beyond loopback \(HOST=0\.0\.0\.0\)/,
    );
  });
});
