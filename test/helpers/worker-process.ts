import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from './context.ts';

const WORKER_MAIN = fileURLToPath(new URL('../fixtures/app/worker.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** SIGKILL: no shutdown code runs, locks and connections are simply abandoned */
  kill(): Promise<void>;
  /** SIGTERM, then the exit code */
  stop(): Promise<number | null>;
}

/**
 * Starts the fixture app's worker process (`test/fixtures/app/worker.ts`, on the core's `runWorkerProcess`) on the context's database and queue prefix, and
 * resolves once it logs that it started. The test must stop it (`kill` or `stop`) when done.
 */
export async function startWorkerProcess(ctx: TestContext, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const { config } = ctx;
  const child = spawn(process.execPath, [WORKER_MAIN], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: config.databaseUrl,
      REDIS_URL: config.redisUrl,
      REDIS_CLUSTER_NODES: config.redisClusterNodes.map((n) => `${n.host}:${n.port}`).join(','),
      QUEUE_SHARDS: String(config.queueShards),
      QUEUE_PREFIX: config.queuePrefix,
      LOG_LEVEL: 'info',
      JOB_LOCK_MS: String(config.jobLockMs),
      STALLED_INTERVAL_MS: String(config.stalledIntervalMs),
      RECONCILE_INTERVAL_MS: String(config.reconcileIntervalMs),
      RECONCILE_AFTER_MS: String(config.reconcileAfterMs),
      SHUTDOWN_TIMEOUT_MS: String(config.shutdownTimeoutMs),
      MAX_ATTEMPTS: String(config.maxAttempts),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process did not start:\n${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      if (output.includes('worker started')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    void exited.then((code) => reject(new Error(`worker process exited (${code}) before starting:\n${output}`)));
  });
  const handle: WorkerProcess = {
    child,
    pid: child.pid!,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
  return handle;
}
