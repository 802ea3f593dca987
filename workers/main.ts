import { writeFile } from 'node:fs/promises';
import closeWithGrace from 'close-with-grace';
import { loadConfigOrExit } from '../src/load-config-or-exit.ts';
import { createLogger } from '../src/logger.ts';
import { operations } from '../src/operations/registry.ts';
import { startWorker } from './start-worker.ts';

// Worker process: jobs, outbox relay, reconciler, expiry. SIGTERM: finish or release in-flight jobs, then exit.
const HEARTBEAT_MS = 5_000;
const config = loadConfigOrExit({ servesApi: false, operations });
const log = createLogger(config.logLevel, 'idemq-worker');
const handle = await startWorker(config, log);
log.info({ concurrency: config.workerConcurrency }, 'worker started');

// Liveness for container healthchecks: fresh while the BullMQ worker runs (docker-compose.yml).
const heartbeat = config.heartbeatFile
  ? setInterval(() => {
      if (!handle.worker.isRunning()) return;
      writeFile(config.heartbeatFile, new Date().toISOString()).catch((err) => log.warn({ err }, 'heartbeat file not written'));
    }, HEARTBEAT_MS)
  : undefined;

closeWithGrace({ delay: config.shutdownTimeoutMs + 5_000, logger: log }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal }, 'shutting down');
  clearInterval(heartbeat);
  await handle.close();
});
