import { DelayedError, type Job, Worker } from 'bullmq';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../src/config.ts';
import { assertMigrated } from '../src/db/check-migrations.ts';
import { createDb } from '../src/db/create-db.ts';
import { listenOrExplain } from '../src/listen-failure.ts';
import type { MigrationSet } from '../src/db/migrator.ts';
import type { Operation } from '../src/operations/operation.ts';
import { withForwardRoutes } from '../src/operations/forward/forward-operation.ts';
import { createRegistry } from '../src/operations/registry.ts';
import { warnOfUnknownOperations } from './unknown-operations-check.ts';
import { claimQueuePrefixAtStart } from '../src/queue/queue-owner.ts';
import { createRequestQueues, type RequestJobData } from '../src/queue/request-queue.ts';
import { createShardCensus, SHARD_CENSUS_INTERVAL_MS, shardMismatchGauge, watchShardCensus } from '../src/queue/shard-census.ts';
import { createRedis } from '../src/redis.ts';
import { assertClusterNodes } from '../src/redis-topology.ts';
import { retryDelayMs } from '../src/retry-policy.ts';
import { queueTelemetry } from '../src/tracing/queue-telemetry.ts';
import { expireOnce } from './expiry.ts';
import { createBatchRunner } from './batch-runner.ts';
import { createForwardRunner } from './forward-runner.ts';
import { createJobProcessor } from './job-processor.ts';
import { createDispatcher } from './operation-runners.ts';
import { startMetricsServer } from './metrics-server.ts';
import { createStatusPublisher, relayOnce } from './outbox-relay.ts';
import { startPeriodicTask } from './periodic.ts';
import { createStageTimings } from './stage-timings.ts';
import { type ReconcileCursor, reconcileOnce } from './reconciler.ts';
import { createWorkerMetrics } from './worker-metrics.ts';
import { type QueueOwnerWatch, watchQueueOwner } from './queue-owner-watch.ts';

/** How often the outbox relay looks without being nudged (events of other worker processes). */
const RELAY_IDLE_MS = 100;
/**
 * BullMQ waits this long before fetching again after a connection error (its default is 15 s,
 * which would leave a worker idle that long after Redis comes back).
 */
const FETCH_RETRY_MS = 1_000;
/** After the jobs are dealt with, how long the last relay pass and closing the connections may take. */
const CLEANUP_MS = 3_000;

export interface WorkerHandle {
  /** one BullMQ worker per queue shard */
  workers: Worker<RequestJobData>[];
  /**
   * Graceful: stops taking jobs and lets in-flight ones finish for up to SHUTDOWN_TIMEOUT_MS;
   * jobs still running then are moved back to `wait` at once, for another worker to take
   * (a late finish here is fenced by the request's row lock). Resolves within
   * SHUTDOWN_TIMEOUT_MS + 4 s even if Postgres or Redis is away.
   */
  close(): Promise<void>;
}

export interface WorkerOptions {
  /** the operations this worker runs; a request of any other waits for a worker that runs it */
  operations: readonly Operation[];
  /** the app's migrations, which the database must have run (with the core's) before the worker starts */
  migrations?: readonly MigrationSet[];
}

/** Resolves true if `promise` settles within `ms`, false otherwise; never rejects. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts everything a worker process runs: the BullMQ worker, the outbox relay, the reconciler and
 * the expiry sweep, and its metrics server if WORKER_METRICS_PORT is set. Any number of worker
 * processes may run; each part is safe to run concurrently. Refuses (throws) if the database lacks
 * a migration this code knows, the core's or the app's, or if two operations share a name or a route.
 */
export async function startWorker(config: Config, log: Logger, options: WorkerOptions): Promise<WorkerHandle> {
  const registry = createRegistry(withForwardRoutes(options.operations, config));
  const onError = (what: string) => (err: Error) => log.warn({ err }, `${what} error`);
  await assertClusterNodes(config);
  const { db } = createDb({
    connectionString: config.databaseUrl,
    poolSize: config.pgPoolSize,
    // the pid tells an operator (and the chaos run) which process a backend in pg_stat_activity serves
    applicationName: `idemq-worker-${process.pid}`,
    onIdleError: onError('postgres'),
  });
  await assertMigrated(db, options.migrations, config.databaseUrl).catch(async (err) => {
    await db.destroy();
    throw err;
  });
  const publisher = createRedis(config, 'publisher', onError('redis publisher'));
  // another deployment's workers on this Redis and QUEUE_PREFIX would take this one's jobs, and these theirs
  const deploymentId = await claimQueuePrefixAtStart(db, publisher, config.queuePrefix, (err) =>
    log.warn({ err }, 'Redis did not answer at start: QUEUE_PREFIX is claimed for this deployment once it does'),
  ).catch(async (err) => {
    publisher.disconnect();
    await db.destroy();
    throw err;
  });
  const queueConnection = createRedis(config, 'publisher', onError('redis queue'));
  const telemetry = queueTelemetry(config.tracing);
  const queue = createRequestQueues(queueConnection, config, telemetry);
  queue.on('error', onError('queue'));
  const metrics = createWorkerMetrics({ db, queue });
  const metricsServer = config.workerMetricsPort
    ? await listenOrExplain(
        () => startMetricsServer(metrics.registry, { host: config.workerMetricsHost, port: config.workerMetricsPort, http: config.http, token: config.admin.token }),
        { hostVariable: 'WORKER_METRICS_HOST', portVariable: 'WORKER_METRICS_PORT', host: config.workerMetricsHost, port: config.workerMetricsPort },
      )
    : undefined;

  // The outbox and the requests table churn by design; without autovacuum they bloat and every
  // statement slows down (seen here: 3x slower per statement within minutes).
  void sql<{ autovacuum: string }>`show autovacuum`
    .execute(db)
    .then(({ rows }) => {
      if (rows[0]?.autovacuum !== 'on') log.warn('Postgres runs with autovacuum off: the outbox, requests and hot ledger rows will bloat and slow down; turn it on');
    })
    .catch((err) => log.debug({ err }, 'could not read the autovacuum setting'));
  void warnOfUnknownOperations(db, (name) => registry.find(name) !== undefined, log);
  const stages = createStageTimings(metrics.observeStage);
  const publish = createStatusPublisher(publisher, config.queuePrefix, stages.stamp);
  const relay = startPeriodicTask('outbox-relay', RELAY_IDLE_MS, () => relayOnce(db, publish), log);
  let cursor: ReconcileCursor | undefined;
  // set once the BullMQ workers exist, which it pauses
  let owner: QueueOwnerWatch | undefined;
  const reconciler = startPeriodicTask(
    'reconciler',
    config.reconcileIntervalMs,
    async () => {
      // re-adding into another deployment's queues would hand it this one's jobs
      if (owner?.foreign) return { more: false };
      const r = await reconcileOnce(db, queue, config.reconcileAfterMs, { after: cursor });
      cursor = r.next;
      metrics.reconcilerReadded.inc(r.enqueued);
      if (r.enqueued > 0) log.info({ checked: r.checked, enqueued: r.enqueued }, 'reconciler re-enqueued requests whose jobs were lost');
      return r;
    },
    log,
  );
  const census = watchShardCensus(createShardCensus(queueConnection, config.queuePrefix, config.queueShards), config.queueShards, (others, message) =>
    log.warn({ queueShards: config.queueShards, others }, message),
  );
  shardMismatchGauge(metrics.registry, 'idemq_worker_queue_shards_mismatch', () => census.mismatched);
  const shardCensus = startPeriodicTask(
    'queue-shards census',
    SHARD_CENSUS_INTERVAL_MS,
    async () => {
      await census.check();
      return { more: false };
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

  const processJob = createJobProcessor({
    db,
    log,
    maxAttempts: config.maxAttempts,
    run: createDispatcher(db, registry, {
      // two batches at once: one commits while the next gathers the jobs that arrived meanwhile
      transactional: createBatchRunner(db, { maxConcurrentBatches: 2, findOperation: registry.find, onBatch: (size) => metrics.batchSize.observe(size) }),
      forward: createForwardRunner({ db, routes: config.forwardRoutes, log, onAttempt: (operation, outcome) => metrics.upstreamAttempts.inc({ operation, outcome }) }),
    }),
    onCompleted: stages.committed,
    onCommitted: () => relay.nudge(),
    onUnknownOperation: (operation) => metrics.unknownOperation.inc({ operation }),
    onRetry: (cause) => metrics.retries.inc({ cause }),
    onProcessingFailed: () => metrics.processingFailed.inc(),
  });
  // the jobs this process holds, with their lock tokens, so a shutdown can hand them back
  const inFlight = new Map<string, { job: Job<RequestJobData>; token: string }>();
  const workerConnection = createRedis(config, 'blocking', onError('redis worker'));
  const processShardJob = async (job: Job<RequestJobData>, token?: string) => {
    if (job.id && token) inFlight.set(job.id, { job, token });
    const timer = metrics.jobSeconds.startTimer();
    let result = 'retried';
    try {
      return (result = await processJob(job, token));
    } catch (err) {
      if (err instanceof DelayedError) result = 'delayed';
      throw err;
    } finally {
      timer({ result });
      if (job.id) inFlight.delete(job.id);
    }
  };
  // each shard has its own BullMQ worker on every worker process; together they take WORKER_CONCURRENCY jobs at most
  const shardConcurrency = Math.max(1, Math.ceil(config.workerConcurrency / queue.shards.length));
  const workers = queue.shards.map((shard) => {
    const worker = new Worker<RequestJobData>(shard.name, processShardJob, {
      connection: workerConnection,
      prefix: config.queuePrefix,
      concurrency: shardConcurrency,
      // A killed worker's lock lapses within lockDuration; the stalled check (run by any live
      // worker, at most once per stalledInterval across all of them) then moves its job back to
      // wait on the second check that finds it unlocked. Crashes alone never fail a job.
      lockDuration: config.jobLockMs,
      stalledInterval: config.stalledIntervalMs,
      maxStalledCount: 1_000,
      runRetryDelay: FETCH_RETRY_MS,
      // tracing on: each job's `process` span continues the trace the job was added in
      telemetry,
      settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade) },
    });
    worker.on('error', onError('worker'));
    worker.on('failed', (job, err) => log.debug({ err, jobId: job?.id }, 'job attempt failed'));
    worker.on('stalled', (jobId) => {
      metrics.stalled.inc();
      log.warn({ jobId }, 'stalled job moved back to wait (its worker stopped renewing its lock)');
    });
    return worker;
  });

  owner = watchQueueOwner({
    redis: publisher,
    queuePrefix: config.queuePrefix,
    deploymentId,
    workers,
    log,
    onConflict: () => metrics.queuePrefixConflicts.inc(),
  });
  const ownerWatch = startPeriodicTask('queue-owner', config.reconcileIntervalMs, owner.check, log);

  /** Moves the jobs still running here back to wait, so another worker takes them now, not after the lock lapses. */
  const releaseInFlight = async () => {
    const held = [...inFlight.values()];
    inFlight.clear();
    const results = await Promise.allSettled(held.map(({ job, token }) => job.moveToWait(token)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    log.warn({ released: held.length - failed, failed }, 'released in-flight jobs to other workers');
  };

  let closing: Promise<void> | undefined;
  const close = async () => {
    // first, so that no check resumes a worker that is closing
    await settlesWithin(ownerWatch.stop(), 1_000);
    // BullMQ's close() waits for in-flight jobs; a second close(true) would only return the same promise
    const stopped = Promise.all(workers.map((w) => w.close()));
    if (!(await settlesWithin(stopped, config.shutdownTimeoutMs))) {
      log.warn({ jobs: inFlight.size }, 'in-flight jobs did not finish in time');
      await settlesWithin(releaseInFlight(), 1_000);
    }
    const cleanedUp = settlesWithin(
      (async () => {
        await Promise.all([reconciler.stop(), expiry.stop(), shardCensus.stop()]);
        await relay.stop();
        // one last pass, so events of the jobs that just finished are not left for another relay
        await relayOnce(db, publish).catch(onError('final relay'));
        await queue.close().catch(onError('queue close'));
        // An abandoned job still reports to BullMQ when it returns, and BullMQ retries a closed
        // connection without pause while closing: keep the connection until then (a process exits sooner).
        void stopped.catch(() => undefined).then(() => workerConnection.disconnect());
        publisher.disconnect();
        queueConnection.disconnect();
        await metricsServer?.close();
        await db.destroy();
      })(),
      CLEANUP_MS,
    );
    // with Postgres or Redis away, or an abandoned job still holding a pooled client, this can hang
    if (!(await cleanedUp)) log.warn('connections did not close in time; the process exit ends them');
  };
  return {
    workers,
    close: () => (closing ??= close()),
  };
}
