import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.ts';
import { createDb } from '../src/db/create-db.ts';
import { createRequestQueue, REQUEST_QUEUE, type RequestJobData, retryDelayMs } from '../src/queue/request-queue.ts';
import { createRedis } from '../src/redis.ts';
import { statusChannel } from '../src/status/status-feed.ts';
import { expireOnce } from './expiry.ts';
import { createJobProcessor } from './job-processor.ts';
import { createPublisher, relayOnce } from './outbox-relay.ts';
import { startPeriodicTask } from './periodic.ts';
import { reconcileOnce } from './reconciler.ts';

/** How often the outbox relay looks without being nudged (events of other worker processes). */
const RELAY_IDLE_MS = 100;

export interface WorkerHandle {
  worker: Worker<RequestJobData>;
  /** Graceful: stops taking jobs, lets in-flight ones finish for up to SHUTDOWN_TIMEOUT_MS, then releases them. */
  close(): Promise<void>;
}

/**
 * Starts everything a worker process runs: the BullMQ worker, the outbox relay, the reconciler and
 * the expiry sweep. Any number of worker processes may run; each part is safe to run concurrently.
 */
export async function startWorker(config: Config, log: Logger): Promise<WorkerHandle> {
  const onError = (what: string) => (err: Error) => log.warn({ err }, `${what} error`);
  const { db } = createDb({
    connectionString: config.databaseUrl,
    poolSize: config.pgPoolSize,
    applicationName: 'idemq-worker',
    onIdleError: onError('postgres'),
  });
  const publisher = createRedis(config.redisUrl, 'publisher', onError('redis publisher'));
  const queueConnection = createRedis(config.redisUrl, 'publisher', onError('redis queue'));
  const queue = createRequestQueue(queueConnection, config.queuePrefix);
  queue.on('error', onError('queue'));

  const publish = createPublisher(publisher, statusChannel(config.queuePrefix));
  const relay = startPeriodicTask('outbox-relay', RELAY_IDLE_MS, () => relayOnce(db, publish), log);
  const reconciler = startPeriodicTask(
    'reconciler',
    config.reconcileIntervalMs,
    async () => {
      const r = await reconcileOnce(db, queue, config.reconcileAfterMs);
      if (r.enqueued > 0) log.info(r, 'reconciler re-enqueued requests whose jobs were lost');
      return r;
    },
    log,
  );
  const expiry = startPeriodicTask(
    'expiry',
    config.expiryIntervalMs,
    async () => {
      const r = await expireOnce(db, config.expiryBatchSize);
      if (r.deleted > 0) log.info(r, 'expired idempotency records');
      return r;
    },
    log,
  );

  const worker = new Worker<RequestJobData>(
    REQUEST_QUEUE,
    createJobProcessor({ db, log, maxAttempts: config.maxAttempts, onCommitted: () => relay.nudge() }),
    {
      connection: createRedis(config.redisUrl, 'blocking', onError('redis worker')),
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      // A killed worker's job is resumed once its lock lapses and a stalled-check runs:
      // at most lockDuration + stalledInterval. Crashes alone never fail a job.
      lockDuration: config.jobLockMs,
      stalledInterval: config.stalledIntervalMs,
      maxStalledCount: 1_000,
      settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade) },
    },
  );
  worker.on('error', onError('worker'));
  worker.on('failed', (job, err) => log.debug({ err, jobId: job?.id }, 'job attempt failed'));

  return {
    worker,
    async close() {
      const forced = setTimeout(() => {
        log.warn('in-flight jobs did not finish in time; releasing them');
        void worker.close(true);
      }, config.shutdownTimeoutMs);
      await worker.close();
      clearTimeout(forced);
      await Promise.all([reconciler.stop(), expiry.stop()]);
      await relay.stop();
      // one last pass, so events of the jobs that just finished are not left for another relay
      await relayOnce(db, publish).catch(onError('final relay'));
      await queue.close();
      await worker.disconnect().catch(() => undefined);
      publisher.disconnect();
      queueConnection.disconnect();
      await db.destroy();
    },
  };
}
