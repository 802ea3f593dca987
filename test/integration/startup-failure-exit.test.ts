import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { adminQuery, databaseUrl } from '../helpers/postgres.ts';
import { testRedisEnv } from '../helpers/redis-target.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN_TOKEN = 'adm_test_startup_0123456789abcdef_xyz';

/**
 * Runs an entry point; resolves with what it printed and its exit code, once it exits or once its
 * output matches `until` (it is then stopped with SIGTERM).
 */
function run(entry: string, env: Record<string, string>, until?: RegExp): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      ...testRedisEnv(),
      QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
      ADMIN_PORT: '0',
      PORT: '0',
      SHUTDOWN_DRAIN_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stopping = false;
  const read = (c: Buffer) => {
    output += c.toString();
    // once: a second SIGTERM means "exit now", with exit code 1
    if (!stopping && until?.test(output)) {
      stopping = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', read);
  child.stderr.on('data', read);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

/** A start-up failure as the operator must read it: the readable list, no stack trace, exit code 1. */
function expectReadableFailure({ code, output }: { code: number | null; output: string }, problem: RegExp) {
  expect(code, output).toBe(1);
  expect(output, output).toMatch(/^Cannot start:$/m);
  expect(output, output).toMatch(new RegExp(`^ {2}- ${problem.source}`, 'm'));
  expect(output, output).toMatch(/^Fix these and start again/m);
  expect(output).not.toMatch(/^\s+at /m);
}

// each test starts a Node.js process, which takes seconds on a loaded machine
describe.concurrent('a process whose start-up the environment prevents', { timeout: 120_000 }, () => {
  const missing = `idemq_missing_${randomBytes(4).toString('hex')}`;
  const empty = `idemq_empty_${randomBytes(4).toString('hex')}`;
  let ctx: TestContext;
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    ctx = await createTestContext();
    await adminQuery(`create database ${empty}`);
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    busy?.close();
    await adminQuery(`drop database if exists ${empty}`);
    await ctx?.close();
  });

  it('the API, on a database that does not exist, says to run npm run migrate', async () => {
    const result = await run('src/main.ts', { DATABASE_URL: databaseUrl(missing) });
    expectReadableFailure(
      result,
      new RegExp(`DATABASE_URL: database "${missing}" does not exist on 127\\.0\\.0\\.1:5432: run \`npm run migrate\``),
    );
  });

  it('a worker, on a Postgres nothing listens for, says what to check', async () => {
    const port = await freePort();
    const result = await run('workers/main.ts', { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/idemq` });
    expectReadableFailure(
      result,
      new RegExp(`DATABASE_URL: cannot reach Postgres at 127\\.0\\.0\\.1:${port} \\(connection refused\\): check that Postgres runs there`),
    );
  });

  it('a worker, on a database never migrated, names the migrations and says to run npm run migrate', async () => {
    const result = await run('workers/main.ts', { DATABASE_URL: databaseUrl(empty) });
    expectReadableFailure(
      result,
      /DATABASE_URL: the database lacks migrations this code needs: idemq\/2026_12_02_001_idemq_schema.*Run `npm run migrate`/,
    );
  });

  it('the API, on a port already taken, names the port and says what to do', async () => {
    const result = await run('src/main.ts', { DATABASE_URL: ctx.config.databaseUrl, PORT: String(busyPort) });
    expectReadableFailure(
      result,
      new RegExp(`PORT: 127\\.0\\.0\\.1:${busyPort} is already in use .*: stop that process, or set PORT to a free port`),
    );
  });

  it('the API, in production with no key at all, starts and warns how to create one', async () => {
    const { code, output } = await run(
      'src/main.ts',
      { NODE_ENV: 'production', ADMIN_TOKEN, DATABASE_URL: ctx.config.databaseUrl },
      /Server listening[\s\S]*Server listening/,
    );
    expect(output).toMatch(
      /"level":40[^\n]*no API key exists: every request will be refused \(401\) until one does; create one with `npm run keys -- create --tenant <tenant>`/,
    );
    expect(code, output).toBe(0);
  });
});
