import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { linkScaffoldToRepository } from '../test/helpers/scaffold-links.ts';
import { TEST_SERVICES } from '../test/helpers/services.ts';

// `npm run check:init`: what `idemq init` writes type-checks and its own `npm test` passes, against
// this repository's sources (linked, not installed) and the tests' Postgres and Redis, in a
// temporary directory outside the repository. Slower than a test (a type-check of the whole
// package through the link), so it runs beside `npm test`, not in it; the tarball check proves the
// same from a real `npm install`.
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const parent = mkdtempSync(join(tmpdir(), 'idemq-check-init-'));
const dir = join(parent, 'my-app');
const database = `idemq_check_init_${randomBytes(5).toString('hex')}`;
const databaseUrl = new URL(TEST_SERVICES.postgresUrl);
databaseUrl.pathname = `/${database}`;

function run(what: string, args: string[], cwd: string, env: Record<string, string> = {}): void {
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${what} failed (exit code ${result.status ?? result.signal})`);
  console.log(`${what}: ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

let failed = false;
try {
  run('idemq init my-app', [join(ROOT, 'bin/idemq.ts'), 'init', 'my-app'], parent);
  linkScaffoldToRepository(dir);
  run('tsc --noEmit in the project', [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit'], dir);
  run("the project's npm test", [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run'], dir, {
    TEST_DATABASE_URL: databaseUrl.toString(),
    TEST_QUEUE_PREFIX: `check-init-${randomBytes(4).toString('hex')}`,
    REDIS_URL: TEST_SERVICES.redisUrl,
  });
} catch (err) {
  console.error((err as Error).message);
  failed = true;
} finally {
  rmSync(parent, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: TEST_SERVICES.postgresUrl });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await client.end();
}
process.exitCode = failed ? 1 : 0;
