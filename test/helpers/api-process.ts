import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TestContext } from './context.ts';
import { testRedisEnv } from './redis-target.ts';

/** The core's API process (no app operation): forward routes, status, events. */
const CORE_API_MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface ApiProcess {
  port: number;
  /** SIGKILL: no shutdown code runs, sockets are reset */
  kill(): Promise<void>;
  /** SIGTERM, then the exit code once the process is gone */
  stop(): Promise<number | null>;
  /** what it printed last (for a failing test's message) */
  output(): string;
}

/**
 * Starts `main` (by default `src/main.ts`) as a real API process on the context's database, Redis
 * and queue prefix, listening on 127.0.0.1:`port` (its admin server on a free port), and resolves
 * once the API listens. `env` adds or overrides variables. The test must stop or kill it.
 */
export async function startApiProcess(
  ctx: TestContext,
  port: number,
  env: Record<string, string> = {},
  main = CORE_API_MAIN,
): Promise<ApiProcess> {
  const { config } = ctx;
  const child: ChildProcess = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: config.databaseUrl,
      ...testRedisEnv(),
      QUEUE_PREFIX: config.queuePrefix,
      API_KEYS: [...config.apiKeys].map(([secret, tenant]) => `${tenant}:${secret}`).join(','),
      RATE_LIMIT_PER_MINUTE: String(config.rateLimitPerMinute),
      SHUTDOWN_TIMEOUT_MS: String(config.shutdownTimeoutMs),
      HOST: '127.0.0.1',
      PORT: String(port),
      ADMIN_PORT: '0',
      // a line per request would cost the process more than the request under load
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 90_000;
  while (!(await accepts(port))) {
    if (gone) throw new Error(`API process exited (${child.exitCode ?? child.signalCode}) before listening:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`API process did not listen on ${port} within 90 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    port,
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (running()) child.kill('SIGTERM');
      return exited;
    },
    output: () => output,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
