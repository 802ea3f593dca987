import { DelayedError, type Job, Worker } from 'bullmq';
import type { RequestJobData } from '../src/queue/request-queue.ts';
import { retryDelayMs } from '../src/retry-policy.ts';
import { createBatchRunner } from './batch-runner.ts';
import { createForwardRunner } from './forward-runner.ts';
import { createJobProcessor } from './job-processor.ts';
import { createDispatcher } from './operation-runners.ts';
import { settlesWithin } from './settles-within.ts';
import type { WorkerDeps } from './worker-deps.ts';

/**
 * BullMQ waits this long before fetching again after a connection error (its default is 15 s,
 * which would leave a worker idle that long after Redis comes back).
 */
const FETCH_RETRY_MS = 1_000;

export interface ShardWorkers {
  /** one BullMQ worker per queue shard */
  workers: Worker<RequestJobData>[];
  /**
   * Stops taking jobs and waits up to `timeoutMs` for the jobs in flight; the jobs still running
   * then are moved back to `wait` at once, for another worker to take. `stopped` settles once the
   * BullMQ workers are closed, which may be later.
   */
  close(timeoutMs: number): Promise<{ stopped: Promise<unknown> }>;
}

/**
 * Starts one BullMQ worker per queue shard on `deps.blocking`, each running the job processor
 * (job-processor.ts) over the runners of every kind of operation (operation-runners.ts); together
 * they take WORKER_CONCURRENCY jobs at most. `onCommitted` is called after a run wrote outbox events.
 */
export function startShardWorkers(deps: WorkerDeps, opts: { onCommitted(): void }): ShardWorkers {
  const { config, db, log, metrics, queue } = deps;
  const processJob = createJobProcessor({
    db,
    log,
    maxAttempts: config.maxAttempts,
    run: createDispatcher(db, deps.registry, {
      // two batches at once: one commits while the next gathers the jobs that arrived meanwhile
      transactional: createBatchRunner(db, { maxConcurrentBatches: 2, onBatch: (size) => metrics.batchSize.observe(size) }),
      forward: createForwardRunner({ db, log, onAttempt: (operation, outcome) => metrics.upstreamAttempts.inc({ operation, outcome }) }),
    }),
    onCompleted: deps.stages.committed,
    onCommitted: opts.onCommitted,
    onUnknownOperation: (operation) => metrics.unknownOperation.inc({ operation }),
    onRetry: (cause) => metrics.retries.inc({ cause }),
    onProcessingFailed: () => metrics.processingFailed.inc(),
  });
  // the jobs this process holds, with their lock tokens, so a shutdown can hand them back
  const inFlight = new Map<string, { job: Job<RequestJobData>; token: string }>();
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
      connection: deps.blocking,
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
      telemetry: deps.telemetry,
      settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade) },
    });
    worker.on('error', deps.onError('worker'));
    worker.on('failed', (job, err) => log.debug({ err, jobId: job?.id }, 'job attempt failed'));
    worker.on('stalled', (jobId) => {
      metrics.stalled.inc();
      log.warn({ jobId }, 'stalled job moved back to wait (its worker stopped renewing its lock)');
    });
    return worker;
  });

  /** Moves the jobs still running here back to wait, so another worker takes them now, not after the lock lapses. */
  const releaseInFlight = async () => {
    const held = [...inFlight.values()];
    inFlight.clear();
    const results = await Promise.allSettled(held.map(({ job, token }) => job.moveToWait(token)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    log.warn({ released: held.length - failed, failed }, 'released in-flight jobs to other workers');
  };

  return {
    workers,
    async close(timeoutMs) {
      // BullMQ's close() waits for in-flight jobs; a second close(true) would only return the same promise
      const stopped = Promise.all(workers.map((w) => w.close()));
      if (!(await settlesWithin(stopped, timeoutMs))) {
        log.warn({ jobs: inFlight.size }, 'in-flight jobs did not finish in time');
        await settlesWithin(releaseInFlight(), 1_000);
      }
      return { stopped };
    },
  };
}
