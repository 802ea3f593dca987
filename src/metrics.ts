import type { Kysely } from 'kysely';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database, StatusEvent } from './db/database.ts';
import { measureReplicaLag } from './db/replica-lag.ts';
import { countUnfinishedRequests } from './idempotency/request-maintenance.repository.ts';
import { countOutboxEvents } from './outbox/outbox.repository.ts';
import type { RequestQueues } from './queue/request-queue.ts';
import { createStageHistogram } from './stage-histogram.ts';
import { guardEventLoopLag } from './event-loop-lag-guard.ts';
import { withTimeout } from './with-timeout.ts';

/** each source of a scrape gets this long; Prometheus's own scrape timeout is 10 s by default */
const SOURCE_TIMEOUT_MS = 2_000;

/**
 * The API process's Prometheus metrics, served at GET /metrics. With `replica` (DATABASE_READ_URL)
 * its lag behind `db` too, measured at each scrape.
 */
export function createApiMetrics(deps: {
  db: Kysely<Database>;
  replica?: Kysely<Database>;
  queue: RequestQueues;
  watched: () => number;
  replayCacheBytes: () => number;
}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'idemq_api_' });
  guardEventLoopLag(registry, 'idemq_api_');
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
    help: "Scrapes that left out a source's series because it failed or did not answer in time",
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
    name: 'idemq_replay_cache_bytes',
    help: 'Approximate heap bytes of the finished requests this instance keeps for replays (at most REPLAY_CACHE_BYTES)',
    registers: [registry],
    collect() {
      this.set(deps.replayCacheBytes());
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
          Promise.all([countUnfinishedRequests(deps.db), countOutboxEvents(deps.db)]),
          SOURCE_TIMEOUT_MS,
          'backlog from postgres',
        ),
        withTimeout(deps.queue.getJobCounts('waiting', 'active', 'delayed', 'failed'), SOURCE_TIMEOUT_MS, 'backlog from redis'),
      ]);
      this.reset();
      if (pg.status === 'fulfilled') {
        const [unfinished, outbox] = pg.value;
        this.set({ kind: 'unfinished_requests' }, unfinished);
        this.set({ kind: 'outbox_events' }, outbox);
      } else collectFailures.inc({ source: 'postgres' });
      if (jobs.status === 'fulfilled') {
        for (const [state, n] of Object.entries(jobs.value)) this.set({ kind: `jobs_${state}` }, n);
      } else collectFailures.inc({ source: 'redis' });
    },
  });
  const statusReads = new Counter({
    name: 'idemq_status_reads_total',
    help: 'With a read replica: request states read by where they were answered (replica, or primary) and why (see docs/operations.md, "Read replica")',
    labelNames: ['source', 'reason'] as const,
    registers: [registry],
  });
  if (deps.replica) replicaLagGauges(registry, deps.db, deps.replica, collectFailures);
  const observeStage = createStageHistogram(registry, 'api');
  /** the API's stages of a push: from the relay's publish, and from the key's record (both carried by the event) */
  const pushed = (event: StatusEvent) => {
    const now = Date.now();
    observeStage('published_to_pushed', event.publishedAt, now);
    observeStage('accepted_to_pushed', event.acceptedAt, now);
  };
  return { registry, accepted, enqueueFailures, acceptSeconds, statusEvents, wakeups, statusReads, pushed };
}

function replicaLagGauges(
  registry: Registry,
  primary: Kysely<Database>,
  replica: Kysely<Database>,
  collectFailures: Counter<'source'>,
): void {
  let measuring: ReturnType<typeof measureReplicaLag> | undefined;
  // the three gauges of one scrape share one measurement
  const measure = () => {
    measuring ??= withTimeout(measureReplicaLag(primary, replica), SOURCE_TIMEOUT_MS, 'replica lag').finally(() =>
      setImmediate(() => (measuring = undefined)),
    );
    return measuring;
  };
  const gauge = (name: string, help: string, pick: (lag: Awaited<ReturnType<typeof measureReplicaLag>>) => number, counts: boolean) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.reset();
        try {
          this.set(pick(await measure()));
        } catch {
          if (counts) collectFailures.inc({ source: 'replica' });
        }
      },
    });
  gauge(
    'idemq_replica_lag_seconds',
    'Since the last transaction the read replica replayed, while it has WAL left to replay (0: caught up)',
    (l) => l.seconds,
    true,
  );
  gauge('idemq_replica_lag_bytes', 'WAL the primary has written that the read replica has not replayed', (l) => l.bytes, false);
  gauge('idemq_replica_replay_paused', "1 while the read replica's replay is paused (pg_wal_replay_pause)", (l) => Number(l.paused), false);
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
