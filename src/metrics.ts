import type { Queue } from 'bullmq';
import { type Kysely, sql } from 'kysely';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from './db/database.ts';
import { OUTBOX_EVENT_COUNT } from './outbox/outbox.repository.ts';
import type { RequestJobData } from './queue/request-queue.ts';
import { withTimeout } from './with-timeout.ts';

/** each source of a scrape gets this long; Prometheus's own scrape timeout is 10 s by default */
const SOURCE_TIMEOUT_MS = 2_000;

/** The API process's Prometheus metrics, served at GET /metrics. */
export function createApiMetrics(deps: { db: Kysely<Database>; queue: Queue<RequestJobData>; watched: () => number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'idemq_api_' });
  const accepted = new Counter({
    name: 'idemq_requests_accepted_total',
    help: 'Submissions by outcome: created (new record), replayed (same key and body), mismatch (422)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const enqueueFailures = new Counter({
    name: 'idemq_enqueue_failures_total',
    help: 'Enqueues that failed (Redis away); the reconciler enqueues these requests later',
    registers: [registry],
  });
  const acceptSeconds = new Histogram({
    name: 'idemq_accept_duration_seconds',
    help: 'Time to record or find an idempotency key in Postgres',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const statusEvents = new Counter({
    name: 'idemq_status_events_total',
    help: 'Status events this instance received from the outbox relays (one per request state change)',
    registers: [registry],
  });
  const wakeups = new Counter({
    name: 'idemq_status_wakeups_total',
    help: 'Followers (long-polls, WebSockets, SSE streams) this instance woke for status events: the push fan-out',
    registers: [registry],
  });
  const collectFailures = new Counter({
    name: 'idemq_metrics_source_failures_total',
    help: 'Scrapes that left out a source\'s series because it failed or did not answer in time',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'idemq_status_watched_requests',
    help: 'Requests that long-polls, WebSockets or SSE streams of this instance are waiting on',
    registers: [registry],
    collect() {
      this.set(deps.watched());
    },
  });
  new Gauge({
    name: 'idemq_backlog',
    help: 'Unfinished requests (Postgres), unpublished outbox events (Postgres) and jobs by BullMQ state',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      // a scrape answers even while a source hangs: its series are left out and the failure counted
      const [pg, jobs] = await Promise.allSettled([
        withTimeout(
          sql<{ unfinished: string; outbox: string }>`select
            (select count(*) from idemq.requests where status in ('queued', 'processing')) as unfinished,
            (select ${OUTBOX_EVENT_COUNT} from idemq.outbox) as outbox`.execute(deps.db),
          SOURCE_TIMEOUT_MS,
          'backlog from postgres',
        ),
        withTimeout(deps.queue.getJobCounts('waiting', 'active', 'delayed', 'failed'), SOURCE_TIMEOUT_MS, 'backlog from redis'),
      ]);
      this.reset();
      if (pg.status === 'fulfilled') {
        this.set({ kind: 'unfinished_requests' }, Number(pg.value.rows[0]?.unfinished ?? 0));
        this.set({ kind: 'outbox_events' }, Number(pg.value.rows[0]?.outbox ?? 0));
      } else collectFailures.inc({ source: 'postgres' });
      if (jobs.status === 'fulfilled') {
        for (const [state, n] of Object.entries(jobs.value)) this.set({ kind: `jobs_${state}` }, n);
      } else collectFailures.inc({ source: 'redis' });
    },
  });
  return { registry, accepted, enqueueFailures, acceptSeconds, statusEvents, wakeups };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
