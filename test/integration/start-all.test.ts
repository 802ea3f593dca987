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

  /**
   * Runs `npm start`'s processes in a group of their own, as a shell's foreground job, until both
   * have started: start-all itself, or (`viaNpm`) `npm start` as a user types it.
   */
  async function startAll(viaNpm = false) {
    const { config } = ctx;
    const [command, args] = viaNpm ? ['npm', ['start', '--silent']] : [process.execPath, ['scripts/start-all.ts']];
    const child = spawn(command, args, {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: config.databaseUrl,
        REDIS_URL: config.redisUrl,
        QUEUE_PREFIX: config.queuePrefix,
        PORT: '0',
        ADMIN_PORT: '0',
        SHUTDOWN_TIMEOUT_MS: '2000',
      },
    });
    const run = {
      child,
      output: '',
      pids: [] as number[],
      exited: new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      ),
    };
    child.stdout.on('data', (c: Buffer) => (run.output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (run.output += c.toString()));
    try {
      run.pids = await waitUntil(
        'the API and the worker to start',
        async () => {
          const lines = logLines(run.output);
          const api = lines.find((l) => l.name === 'idemq-api' && /^Server listening at/.test(l.msg ?? ''));
          const worker = lines.find((l) => l.name === 'idemq-worker' && l.msg === 'worker started');
          return api && worker && [api.pid!, worker.pid!];
        },
        { timeoutMs: 60_000 },
      );
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    return run;
  }

  // The terminal's SIGINT and anything start-all sends race in the children, so a few rounds.
  it('stops the API and the worker gracefully on Ctrl-C, exit code 0, nothing logged at error level', async () => {
    for (let round = 0; round < 3; round++) {
      // the last round through npm, which passes its own copy of the SIGINT on to start-all
      const run = await startAll(round === 2);
      try {
        // what a terminal does on Ctrl-C: SIGINT to every process of the foreground group
        process.kill(-run.child.pid!, 'SIGINT');
        const { code, signal } = await run.exited;
        const { output } = run;
        expect({ code, signal }, output).toEqual({ code: 0, signal: null });
        const lines = logLines(output);
        expect(
          lines.filter((l) => l.level >= 50),
          output,
        ).toEqual([]);
        expect(output).not.toMatch(/second SIG/);
        for (const name of ['idemq-api', 'idemq-worker']) {
          expect(
            lines.filter((l) => l.name === name && l.msg === 'shutting down'),
            output,
          ).toHaveLength(1);
        }
        await waitUntil('both processes to be gone', async () => run.pids.every((pid) => !alive(pid)), { timeoutMs: 5_000 });
      } finally {
        for (const pid of [run.child.pid!, ...run.pids]) if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
  }, 240_000);

  // npm passes SIGTERM on to its script's shell; a shell waiting on a command does not pass it on
  it('stops the API and the worker when the `npm start` process itself gets SIGTERM (a service manager, docker stop)', async () => {
    const run = await startAll(true);
    try {
      process.kill(run.child.pid!, 'SIGTERM');
      await run.exited;
      await waitUntil('both processes to be gone', async () => run.pids.every((pid) => !alive(pid)), { timeoutMs: 8_000 });
      const lines = logLines(run.output);
      for (const name of ['idemq-api', 'idemq-worker']) {
        expect(
          lines.filter((l) => l.name === name && l.msg === 'shutting down'),
          run.output,
        ).toHaveLength(1);
      }
    } finally {
      for (const pid of [run.child.pid!, ...run.pids]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 90_000);

  it('stops the API and the worker gracefully when start-all itself is killed (SIGKILL, nothing passed on)', async () => {
    const run = await startAll();
    try {
      process.kill(run.child.pid!, 'SIGKILL');
      await run.exited;
      await waitUntil('both processes to be gone', async () => run.pids.every((pid) => !alive(pid)), { timeoutMs: 8_000 });
    } finally {
      for (const pid of [run.child.pid!, ...run.pids]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);
});
