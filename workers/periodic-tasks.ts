import { createShardCensus, SHARD_CENSUS_INTERVAL_MS, shardMismatchGauge, watchShardCensus } from '../src/queue/shard-census.ts';
import { expireOnce } from './expiry.ts';
import { relayOnce } from './outbox-relay.ts';
import { startPeriodicTask } from './periodic.ts';
import { type ReconcileCursor, reconcileOnce } from './reconciler.ts';
import type { WorkerDeps } from './worker-deps.ts';

/** How often the outbox relay looks without being nudged (events of other worker processes). */
const RELAY_IDLE_MS = 100;

export interface PeriodicTasks {
  /** runs the outbox relay now: a commit wrote events */
  nudgeRelay(): void;
  /** stops every task, waiting for runs in progress, then relays once more */
  stop(): Promise<void>;
}

/**
 * Starts what a worker process runs besides its jobs, each safe to run in any number of worker
 * processes at once: the outbox relay, the reconciler (re-adds the jobs Redis lost, not while
 * `foreignQueues()` says QUEUE_PREFIX is another deployment's), the queue-shards census and the
 * expiry sweep. `stop` ends with one last relay pass, so the events of the jobs that just finished
 * are not left for another relay.
 */
export function startPeriodicTasks(deps: WorkerDeps, opts: { foreignQueues(): boolean }): PeriodicTasks {
  const { config, db, log, metrics, queue } = deps;
  const relay = startPeriodicTask('outbox-relay', RELAY_IDLE_MS, () => relayOnce(db, deps.publish), log);
  let cursor: ReconcileCursor | undefined;
  const reconciler = startPeriodicTask(
    'reconciler',
    config.reconcileIntervalMs,
    async () => {
      // re-adding into another deployment's queues would hand it this one's jobs
      if (opts.foreignQueues()) return { more: false };
      const r = await reconcileOnce(db, queue, config.reconcileAfterMs, { after: cursor });
      cursor = r.next;
      metrics.reconcilerReadded.inc(r.enqueued);
      if (r.enqueued > 0) log.info({ checked: r.checked, enqueued: r.enqueued }, 'reconciler re-enqueued requests whose jobs were lost');
      return r;
    },
    log,
  );
  const census = watchShardCensus(
    createShardCensus(deps.queueConnection, config.queuePrefix, config.queueShards),
    config.queueShards,
    (others, message) => log.warn({ queueShards: config.queueShards, others }, message),
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
  return {
    nudgeRelay: () => relay.nudge(),
    async stop() {
      await Promise.all([reconciler.stop(), expiry.stop(), shardCensus.stop()]);
      await relay.stop();
      await relayOnce(db, deps.publish).catch(deps.onError('final relay'));
    },
  };
}
