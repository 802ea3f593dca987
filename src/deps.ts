import { context } from '@opentelemetry/api';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AppDeps } from './http/api-deps.ts';
import type { Config } from './config.ts';
import { assertMigrated } from './db/check-migrations.ts';
import { createDb } from './db/create-db.ts';
import { replicaRole, type ReplicaRole } from './db/replica-role.ts';
import type { Database } from './db/database.ts';
import type { MigrationSet } from './db/migrator.ts';
import { createAccept } from './idempotency/accept.ts';
import { createReplayCache } from './idempotency/replay-cache.ts';
import { createReplicaFirstRows } from './idempotency/replica-first-rows.ts';
import { createRequestReader, type ReadRows, selectRequestsByIds } from './idempotency/request-reader.ts';
import { createBatchingStore } from './idempotency/request-store.ts';
import { createKeyRing } from './keys/key-ring.ts';
import { hashSecret } from './keys/key-secret.ts';
import { type ApiMetrics, createApiMetrics } from './metrics.ts';
import type { AdminDeps } from './admin/admin-app.ts';
import { createBatchedEnqueue } from './queue/batched-enqueue.ts';
import { claimQueuePrefixAtStart } from './queue/queue-owner.ts';
import { createRequestQueues, enqueueRequests } from './queue/request-queue.ts';
import { createShardCensus, SHARD_CENSUS_INTERVAL_MS, shardMismatchGauge, watchShardCensus } from './queue/shard-census.ts';
import { createRedis, waitUntilReady } from './redis.ts';
import { assertClusterNodes } from './redis-topology.ts';
import { withTimeout } from './with-timeout.ts';
import { openStatusFeed } from './status/open-status-feed.ts';
import { queueTelemetry } from './tracing/queue-telemetry.ts';

const ENQUEUE_TIMEOUT_MS = 2_000;
const LIMITER_READY_WAIT_MS = 1_000;
/**
 * Key inserts (and lookups) in flight at once. Fewer, larger batches cost fewer round trips and
 * commits; under load new calls gather while these run. Measured: 2 instead of PG_POOL_SIZE - 2
 * raised sustained end to end from ~1,340/s to ~1,520/s.
 */
const KEY_BATCHES_IN_FLIGHT = 2;
/** a replica read slower than this goes to the primary, and so does every read for REPLICA_DOWN_MS */
const REPLICA_READ_TIMEOUT_MS = 1_000;
const REPLICA_DOWN_MS = 5_000;
/** well above any lag a usable replica has; a terminal row nearer its expiry is read on the primary */
const REPLICA_EXPIRY_MARGIN_MS = 60_000;
/** last-used times of API keys are written this often, one statement for all keys used meanwhile */
const KEY_USES_FLUSH_MS = 10_000;

/**
 * Opens the API process's connections. `close` ends them all, in the reverse order. Refuses (throws
 * a StartupError) if the database lacks a migration this code knows, the core's or the app's
 * (`migrations`), or if QUEUE_PREFIX on this Redis belongs to another deployment (queue-owner.ts).
 * `admin` is what the admin server needs besides the public document, on the same connections.
 */
export async function createApiDeps(
  config: Config,
  log: Logger,
  migrations: readonly MigrationSet[] = [],
): Promise<{ deps: AppDeps; admin: Omit<AdminDeps, 'openapi'>; close(): Promise<void> }> {
  const onError = (what: string) => (err: Error) => log.warn({ err }, `${what} connection error`);
  await assertClusterNodes(config);
  const { db } = createDb({
    connectionString: config.databaseUrl,
    poolSize: config.pgPoolSize,
    applicationName: 'idemq-api',
    onIdleError: onError('postgres'),
  });
  // the read replica (DATABASE_READ_URL): status reads only, never a write or anything in a transaction
  const replica = config.databaseReadUrl
    ? createDb({
        connectionString: config.databaseReadUrl,
        poolSize: config.pgReadPoolSize,
        applicationName: 'idemq-api-reads',
        onIdleError: onError('postgres replica'),
      }).db
    : undefined;
  const closeDbs = async () => {
    await replica?.destroy();
    await db.destroy();
  };
  await assertMigrated(db, migrations, config.databaseUrl).catch(async (err) => {
    await closeDbs();
    throw err;
  });
  if (replica) warnOfReplicaRole(db, replica, log);
  const keys = createKeyRing(db, {
    refreshMs: config.apiKeysRefreshMs,
    flushMs: KEY_USES_FLUSH_MS,
    envHashes: [...config.apiKeys.keys()].map(hashSecret),
    onError: (what, err) =>
      log.warn(
        { err },
        what === 'refresh' ? 'API keys not refreshed: the last known keys stay in force' : 'API key last-used times not written yet',
      ),
    onRecovered: (what) => log.info(`API key ${what} works again`),
  });
  // the stored keys are known before the first request
  await keys.refresh().catch(async (err) => {
    await keys.close();
    await closeDbs();
    throw err;
  });
  const producer = createRedis(config, 'producer', onError('redis'));
  // jobs enqueued under another deployment's QUEUE_PREFIX would be taken by its workers
  await claimQueuePrefixAtStart(db, producer, config.queuePrefix, (err) =>
    log.warn({ err }, 'Redis did not answer at start: the workers claim QUEUE_PREFIX for this deployment once it does'),
  ).catch(async (err) => {
    producer.disconnect();
    await keys.close();
    await closeDbs();
    throw err;
  });
  const telemetry = queueTelemetry(config.tracing);
  const queue = createRequestQueues(producer, config, telemetry);
  queue.on('error', onError('queue'));
  const metrics = createApiMetrics({ db, replica, queue, watched: () => feed.watched, replayCacheBytes: () => replays.bytes });
  const feed = openStatusFeed(config, onError, (woken) => {
    metrics.statusEvents.inc();
    metrics.wakeups.inc(woken);
  });
  const enqueue = createBatchedEnqueue(queue, { maxBatchSize: 500, maxConcurrentBatches: 2 });
  const store = createBatchingStore(db, { maxBatchSize: 500, maxConcurrentBatches: KEY_BATCHES_IN_FLIGHT });
  const replays = createReplayCache({ maxBytes: config.replayCacheBytes, hears: (id) => feed.hears(id) });
  // nothing is served from the cache until the feed's subscription holds (onLink(true))
  replays.suspend();
  feed.tap(
    (event) => replays.invalidate(event.requestId),
    (up) => (up ? replays.resume() : replays.suspend()),
  );
  const accept = createAccept(store, replays, {
    onAccepted: (outcome, seconds) => {
      metrics.acceptSeconds.observe(seconds);
      metrics.accepted.inc({ outcome });
    },
  });
  const census = startShardCensus(createShardCensus(producer, config.queuePrefix, config.queueShards), config.queueShards, log);
  shardMismatchGauge(metrics.registry, 'idemq_queue_shards_mismatch', () => census.mismatched);
  const rateLimitRedis = createRedis(config, 'limiter', onError('redis rate limit'));
  // until it is connected the limits pass everything; a Redis that is away does not hold the start up longer
  await waitUntilReady(rateLimitRedis, LIMITER_READY_WAIT_MS);
  const deps: AppDeps = {
    config,
    db,
    keys,
    feed,
    readRequest: createRequestReader(replica ? statusRows(db, replica, metrics, log) : db, { maxConcurrentBatches: 2 }),
    metrics: metrics.registry,
    onPushed: metrics.pushed,
    accept,
    enqueue: (requests) => {
      // with tracing on, each job continues the trace its caller is in (the POST's enqueue span)
      const traced = telemetry
        ? requests.map((r) => ({ ...r, traceMetadata: telemetry.contextManager.getMetadata(context.active()) }))
        : requests;
      return withTimeout(enqueue(traced), ENQUEUE_TIMEOUT_MS, 'enqueue').catch((err) => {
        metrics.enqueueFailures.inc(requests.length);
        throw err;
      });
    },
    rateLimitRedis,
    checks: {
      postgres: { required: true, run: async () => void (await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()) },
      // without Redis requests are still recorded and answered 202; the reconciler enqueues them later
      // and API instances and workers with different QUEUE_SHARDS strand each other's jobs until the reconciler
      redis: { required: false, run: async () => census.check() },
      // reads fall back to the primary while the replica is away: it degrades, never fails, readiness
      ...(replica && { replica: { required: false, run: async () => notStandby(await replicaRole(db, replica)) } }),
    },
  };
  const admin: Omit<AdminDeps, 'openapi'> = {
    admin: config.admin,
    trustedProxies: config.trustedProxies,
    queuePrefix: config.queuePrefix,
    rateLimitRedis,
    http: config.http,
    db,
    feed,
    // an operator acts on what the console shows (re-drive, delete): the primary's state, never a lagging one
    readRequest: replica ? createRequestReader(db, { maxConcurrentBatches: 2 }) : deps.readRequest,
    queues: queue.shards,
    metrics: metrics.registry,
    // the request's earlier job is finished and kept by BullMQ's retention: it would refuse the id
    requeue: async (request) => {
      await withTimeout(queue.removeJob(request.id), ENQUEUE_TIMEOUT_MS, 'remove finished job');
      await withTimeout(enqueueRequests(queue, [request]), ENQUEUE_TIMEOUT_MS, 'enqueue');
    },
  };
  return {
    deps,
    admin,
    async close() {
      census.stop();
      await feed.close();
      await queue.close();
      rateLimitRedis.disconnect();
      producer.disconnect();
      await keys.close();
      await closeDbs();
    },
  };
}

/** Status reads on the replica, with the primary behind it (replica-first-rows.ts), counted and logged. */
function statusRows(db: Kysely<Database>, replica: Kysely<Database>, metrics: ApiMetrics, log: Logger): ReadRows {
  return createReplicaFirstRows({
    replica: selectRequestsByIds(replica),
    primary: selectRequestsByIds(db),
    timeoutMs: REPLICA_READ_TIMEOUT_MS,
    downForMs: REPLICA_DOWN_MS,
    expiryMarginMs: REPLICA_EXPIRY_MARGIN_MS,
    onRead: (source, reason, count) => metrics.statusReads.inc({ source, reason }, count),
    onReplicaError: (err) => log.warn({ err }, `read replica failed: status reads go to the primary for ${REPLICA_DOWN_MS} ms`),
  });
}

const notStandby = (role: ReplicaRole) => (role === 'standby' ? undefined : role);

/**
 * Warns once at start when DATABASE_READ_URL is no standby of DATABASE_URL: readiness then shows
 * `replica` as this role, and the lag metrics (0) mean nothing. A replica away at start is no news
 * (readiness shows it). Never holds the start up.
 */
function warnOfReplicaRole(db: Kysely<Database>, replica: Kysely<Database>, log: Logger): void {
  void replicaRole(db, replica).then(
    (role) => {
      if (role === 'is the primary')
        log.warn(
          'DATABASE_READ_URL names the primary itself (not in recovery, same system identifier): status reads take no load off it, and the replica lag reads 0; point it at a streaming standby, or unset it',
        );
      else if (role !== 'standby')
        log.warn(
          'DATABASE_READ_URL names another database cluster, not a replica of DATABASE_URL (another system identifier): status reads there are wrong; point it at a streaming standby of DATABASE_URL, or unset it',
        );
    },
    (err: unknown) => log.warn({ err }, 'could not tell whether DATABASE_READ_URL is a standby of DATABASE_URL'),
  );
}

/**
 * Reports this instance's QUEUE_SHARDS now and every SHARD_CENSUS_INTERVAL_MS (watchShardCensus,
 * warning once per change). `check` reports again for readiness.
 */
function startShardCensus(census: ReturnType<typeof createShardCensus>, shards: number, log: Logger) {
  const watch = watchShardCensus(census, shards, (others, message) => log.warn({ queueShards: shards, others }, message));
  // Redis away: readiness says so already
  const tick = () => void watch.check().catch(() => undefined);
  tick();
  const timer = setInterval(tick, SHARD_CENSUS_INTERVAL_MS).unref();
  return {
    check: watch.check,
    stop: () => clearInterval(timer),
    get mismatched() {
      return watch.mismatched;
    },
  };
}
