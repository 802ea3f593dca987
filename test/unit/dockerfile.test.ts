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
    const config = loadConfig({ ...imageEnv(), NODE_ENV: 'development', LOG_LEVEL: 'silent' });
    expect(config.host).toBe('0.0.0.0');
    expect(config.admin.host).toBe('127.0.0.1');
  });
});
