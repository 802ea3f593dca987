import { writeFile } from 'node:fs/promises';
import closeWithGrace from 'close-with-grace';
import type { MigrationSet } from '../src/db/migrator.ts';
import { exitOnStartFailure, loadProcessConfigOrExit } from '../src/load-config-or-exit.ts';
import { createLogger } from '../src/logger.ts';
import type { Operation } from '../src/operations/operation.ts';
import { startTracing } from '../src/tracing/start-tracing.ts';
import { startWorker } from './start-worker.ts';

const HEARTBEAT_MS = 5_000;

/**
 * What a worker process needs of an app: its operations and its migrations, nothing of its HTTP
 * routes (so the worker knows no Fastify). An IdemqApp is one.
 */
export interface WorkerApp {
  /** every operation the app runs; names and routes must be distinct */
  operations: readonly Operation[];
  /** the app's own migrations, which the database must have run (after the core's) */
  migrations?: MigrationSet;
}

/**
 * A worker process running `app`'s operations and the forward routes of FORWARD_ROUTES_FILE: jobs,
 * outbox relay, reconciler, expiry. Logs `worker started` once it takes jobs. SIGTERM: finish or
 * release in-flight jobs, then exit. A configuration error (of the environment or the routes file),
 * a start-up the environment prevents (StartupError), or a setting found wrong once a server
 * answers (ConfigError), ends the process (exit code 1) with what to do.
 */
export async function runWorkerProcess(app: WorkerApp, opts: { name?: string } = {}): Promise<void> {
  const { config, operations } = loadProcessConfigOrExit({ servesApi: false, operations: app.operations });
  const log = createLogger(config.logLevel, opts.name ?? 'idemq-worker');
  const tracing = startTracing(config.tracing, opts.name ?? 'idemq-worker');
  const handle = await startWorker(config, log, { operations, migrations: app.migrations ? [app.migrations] : [] }).catch((err) =>
    exitOnStartFailure(err, (e) => log.debug({ err: e }, 'start-up failed')),
  );
  const forwardRoutes = operations.filter((op) => op.kind === 'forward').map((op) => op.name);
  log.info({ concurrency: config.workerConcurrency, operations: app.operations.map((op) => op.name), forwardRoutes }, 'worker started');

  // Liveness for container healthchecks: fresh while the BullMQ worker runs (docker-compose.yml).
  const heartbeat = config.heartbeatFile
    ? setInterval(() => {
        if (!handle.workers.every((w) => w.isRunning())) return;
        writeFile(config.heartbeatFile, new Date().toISOString()).catch((err) => log.warn({ err }, 'heartbeat file not written'));
      }, HEARTBEAT_MS)
    : undefined;

  closeWithGrace({ delay: config.shutdownTimeoutMs + 5_000, logger: log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an error');
    else log.info({ signal }, 'shutting down');
    clearInterval(heartbeat);
    await handle.close();
    await tracing.shutdown().catch((err) => log.warn({ err }, 'spans not exported at shutdown'));
  });
}
