import type { Kysely } from 'kysely';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../src/db/database.ts';
import { readOutboxBacklog } from '../src/outbox/outbox.repository.ts';
import type { RequestQueues } from '../src/queue/request-queue.ts';
import { guardEventLoopLag } from '../src/event-loop-lag-guard.ts';
import { createStageHistogram } from '../src/stage-histogram.ts';
import { withTimeout } from '../src/with-timeout.ts';
import { MAX_BATCH_SIZE } from './process-batch.ts';

/** each source of a scrape gets this long, as in the API's metrics: a scrape never hangs on Redis or Postgres */
const SOURCE_TIMEOUT_MS = 2_000;

/** BullMQ states reported by idemq_worker_queue_jobs */
const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

/** Why a job was handed back to BullMQ to run again. */
export type RetryCause = 'transient' | 'failure' | 'unknown_operation';

/**
 * The worker process's Prometheus metrics, served on WORKER_METRICS_PORT when it is set. The
 * gauges read Postgres (outbox) and Redis (job counts) at scrape time, each bounded by
 * SOURCE_TIMEOUT_MS: a source that fails or hangs is left out of that scrape and counted.
 */
export function createWorkerMetrics(sources: { db: Kysely<Database>; queue: RequestQueues }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'idemq_worker_' });
  guardEventLoopLag(registry, 'idemq_worker_');
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const queuePrefixConflicts = counter(
    'idemq_worker_queue_prefix_conflicts_total',
    'Checks that found QUEUE_PREFIX owned by another deployment (another database) on this Redis; the worker takes no job meanwhile',
  );
  const unknownOperation = counter(
    'idemq_worker_unknown_operation_total',
    'Runs of requests whose operation this worker does not know (API deployed ahead of workers); each waits and is retried',
    ['operation'],
  );
  const upstreamAttempts = counter(
    'idemq_worker_upstream_attempts_total',
    'Attempts of forward routes by what their answer decided: succeeded, upstream_rejected, retried, processing_failed',
    ['operation', 'outcome'],
  );
  const retries = counter(
    'idemq_worker_retries_total',
    'Job runs handed back to BullMQ to run again, by cause: transient (infrastructure, not counted against MAX_ATTEMPTS), failure (counted), unknown_operation',
    ['cause'],
  );
  const processingFailed = counter(
    'idemq_worker_processing_failed_total',
    'Requests ended failed with processing_failed after MAX_ATTEMPTS failures',
  );
  const reconcilerReadded = counter(
    'idemq_worker_reconciler_readded_total',
    'Jobs the reconciler added again because Redis had lost them or they had ended without finishing their request',
  );
  const stalled = counter(
    'idemq_worker_stalled_jobs_total',
    "Jobs this worker's stalled-job check found without a live lock (their worker died) and moved back to wait",
  );
  const sourceFailures = counter(
    'idemq_worker_metrics_source_failures_total',
    "Scrapes that left out a source's series because it failed or did not answer in time",
    ['source'],
  );
  const jobSeconds = new Histogram({
    name: 'idemq_worker_job_duration_seconds',
    help: 'Time one job run took in this worker, by result: completed, already-terminal, missing, delayed, fenced, failed (processing_failed stored), retried',
    labelNames: ['result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'idemq_worker_batch_size',
    help: 'Requests per batch transaction (one commit each)',
    buckets: [1, 2, 4, 8, 16, 32, 64, MAX_BATCH_SIZE],
    registers: [registry],
  });
  const observeStage = createStageHistogram(registry, 'worker');
  new Gauge({
    name: 'idemq_worker_queue_jobs',
    help: 'Jobs of the request queue by BullMQ state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      try {
        const counts = await withTimeout(sources.queue.getJobCounts(...JOB_STATES), SOURCE_TIMEOUT_MS, 'job counts from redis');
        this.reset();
        for (const state of JOB_STATES) this.set({ state }, counts[state] ?? 0);
      } catch {
        this.reset();
        sourceFailures.inc({ source: 'redis' });
      }
    },
  });
  // one read of the outbox per scrape, shared by its two gauges (a scrape collects them concurrently)
  let outboxRead: Promise<{ events: number; age: number } | undefined> | undefined;
  const readOutbox = () =>
    (outboxRead ??= withTimeout(readOutboxBacklog(sources.db), SOURCE_TIMEOUT_MS, 'outbox from postgres')
      .catch(() => {
        sourceFailures.inc({ source: 'postgres' });
        return undefined;
      })
      .finally(() => (outboxRead = undefined)));
  const outboxGauge = (name: string, help: string, pick: (o: { events: number; age: number }) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const outbox = await readOutbox();
        if (outbox) this.set(pick(outbox));
        // unknown, not 0: the series is left out of this scrape (reset() would report 0)
        else this.remove();
      },
    });
  outboxGauge('idemq_worker_outbox_lag_seconds', 'Age of the oldest unpublished outbox event (0 when there is none)', (o) => o.age);
  outboxGauge('idemq_worker_outbox_events', 'Outbox events not yet published', (o) => o.events);
  return {
    registry,
    queuePrefixConflicts,
    unknownOperation,
    upstreamAttempts,
    retries,
    processingFailed,
    reconcilerReadded,
    stalled,
    jobSeconds,
    batchSize,
    observeStage,
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
