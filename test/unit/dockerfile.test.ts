import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { parseDockerfile, stageEnv } from '../helpers/dockerfile.ts';

const stages = parseDockerfile(new URL('../../Dockerfile', import.meta.url));

/** The `ENV name=value` settings of an image target, as the processes in it see them. */
const imageEnv = (target = 'gateway') => stageEnv(stages, target);

describe('the image (Dockerfile)', () => {
  it('runs the API on all interfaces, and keeps the admin server on loopback', () => {
    // what an operator adds to the image: a token of their own (keys come from `npm run keys`)
    const config = loadConfig({ ...imageEnv(), ADMIN_TOKEN: 'adm_0f3c9a71e2b84d5690c1a7e3f2d4b6c8', LOG_LEVEL: 'silent' });
    expect(config.production).toBe(true);
    expect(config.host).toBe('0.0.0.0');
    expect(config.admin.host).toBe('127.0.0.1');
  });

  it.each(['gateway', 'ledger'])(
    'refuses to serve the public demo credentials from the %s image, whatever NODE_ENV an operator sets',
    (target) => {
      expect(() => loadConfig({ ...imageEnv(target), LOG_LEVEL: 'silent' })).toThrow(/ADMIN_TOKEN: required in production/);
      expect(() => loadConfig({ ...imageEnv(target), NODE_ENV: 'development', LOG_LEVEL: 'silent' })).toThrow(
        /API_KEYS: the public demo secret .* refused while a server listens beyond loopback \(HOST=0\.0\.0\.0\)/,
      );
    },
  );
});
