import closeWithGrace from 'close-with-grace';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startWorker } from './start-worker.ts';

// Worker process: jobs, outbox relay, reconciler, expiry. SIGTERM: finish or release in-flight jobs, then exit.
const config = loadConfig();
const log = createLogger(config.logLevel, 'idemq-worker');
const handle = await startWorker(config, log);
log.info({ concurrency: config.workerConcurrency }, 'worker started');

closeWithGrace({ delay: config.shutdownTimeoutMs + 5_000, logger: log }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal }, 'shutting down');
  await handle.close();
});
