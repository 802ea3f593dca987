import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { logLines } from '../helpers/log-lines.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start (scripts/start-all.ts)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx?.close());

  /** Runs `npm start`'s processes in a group of their own, as a shell's foreground job, until both have started. */
  async function startAll() {
    const { config } = ctx;
    const child = spawn(process.execPath, ['scripts/start-all.ts'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, DATABASE_URL: config.databaseUrl, REDIS_URL: config.redisUrl, QUEUE_PREFIX: config.queuePrefix, PORT: '0', ADMIN_PORT: '0', SHUTDOWN_TIMEOUT_MS: '2000' },
    });
    const run = { child, output: '', pids: [] as number[], exited: new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))) };
    child.stdout.on('data', (c: Buffer) => (run.output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (run.output += c.toString()));
    run.pids = await waitUntil('the API and the worker to start', async () => {
      const lines = logLines(run.output);
      const api = lines.find((l) => l.name === 'idemq-api' && /^Server listening at/.test(l.msg ?? ''));
      const worker = lines.find((l) => l.name === 'idemq-worker' && l.msg === 'worker started');
      return api && worker && [api.pid!, worker.pid!];
    });
    return run;
  }

  // The terminal's SIGINT and anything start-all sends race in the children, so a few rounds.
  it('stops the API and the worker gracefully on Ctrl-C, exit code 0, nothing logged at error level', async () => {
    for (let round = 0; round < 3; round++) {
      const run = await startAll();
      try {
        // what a terminal does on Ctrl-C: SIGINT to every process of the foreground group
        process.kill(-run.child.pid!, 'SIGINT');
        const { code, signal } = await run.exited;
        const { output } = run;
        expect({ code, signal }, output).toEqual({ code: 0, signal: null });
        const lines = logLines(output);
        expect(lines.filter((l) => l.level >= 50), output).toEqual([]);
        expect(output).not.toMatch(/second SIG/);
        for (const name of ['idemq-api', 'idemq-worker']) {
          expect(lines.filter((l) => l.name === name && l.msg === 'shutting down'), output).toHaveLength(1);
        }
        await waitUntil('both processes to be gone', async () => run.pids.every((pid) => !alive(pid)), { timeoutMs: 5_000 });
      } finally {
        for (const pid of [run.child.pid!, ...run.pids]) if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
  });
});
