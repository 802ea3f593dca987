import { writeFile } from 'node:fs/promises';
import closeWithGrace from 'close-with-grace';
import { appMigrations, type IdemqApp } from '../src/app-definition.ts';
import { exitOnStartFailure, loadConfigOrExit } from '../src/load-config-or-exit.ts';
import { createLogger } from '../src/logger.ts';
import { startTracing } from '../src/tracing/start-tracing.ts';
import { startWorker } from './start-worker.ts';

const HEARTBEAT_MS = 5_000;

/**
 * A worker process running `app`'s operations: jobs, outbox relay, reconciler, expiry. Logs
 * `worker started` once it takes jobs. SIGTERM: finish or release in-flight jobs, then exit. A
 * start-up the environment prevents (StartupError), or a setting found wrong once a server answers
 * (ConfigError), ends the process (exit code 1) with what to do.
 */
export async function runWorkerProcess(app: IdemqApp, opts: { name?: string } = {}): Promise<void> {
  const config = loadConfigOrExit({ servesApi: false, operations: app.operations });
  const log = createLogger(config.logLevel, opts.name ?? 'idemq-worker');
  const tracing = startTracing(config.tracing, opts.name ?? 'idemq-worker');
  const handle = await startWorker(config, log, { operations: app.operations, migrations: appMigrations(app) }).catch((err) =>
    exitOnStartFailure(err, (e) => log.debug({ err: e }, 'start-up failed')),
  );
  log.info({ concurrency: config.workerConcurrency, operations: app.operations.map((op) => op.name), forwardRoutes: config.forwardRoutes.map((r) => r.name) }, 'worker started');

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
