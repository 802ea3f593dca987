import { context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { AppDeps } from './app.ts';
import type { Config } from './config.ts';
import { assertMigrated } from './db/check-migrations.ts';
import { createDb } from './db/create-db.ts';
import type { MigrationSet } from './db/migrator.ts';
import { createAcceptor } from './idempotency/request-acceptor.ts';
import { createRequestReader } from './idempotency/request-reader.ts';
import { createBatchingStore } from './idempotency/request-store.ts';
import { createKeyRing } from './keys/key-ring.ts';
import { hashSecret } from './keys/key-secret.ts';
import { createApiMetrics } from './metrics.ts';
import type { AdminDeps } from './admin/admin-app.ts';
import { createBatchedEnqueue } from './queue/batched-enqueue.ts';
import { createRequestQueue, enqueueRequests, jobIdFor } from './queue/request-queue.ts';
import { createRedis, waitUntilReady } from './redis.ts';
import { withTimeout } from './with-timeout.ts';
import { createStatusFeed, statusChannel } from './status/status-feed.ts';
import { queueTelemetry } from './tracing/queue-telemetry.ts';

const ENQUEUE_TIMEOUT_MS = 2_000;
const LIMITER_READY_WAIT_MS = 1_000;
/** terminal records kept in memory for replays; a few KiB each at most */
const REPLAY_CACHE_SIZE = 10_000;
/**
 * Key inserts (and lookups) in flight at once. Fewer, larger batches cost fewer round trips and
 * commits; under load new calls gather while these run. Measured: 2 instead of PG_POOL_SIZE - 2
 * raised sustained end to end from ~1,340/s to ~1,520/s.
 */
const KEY_BATCHES_IN_FLIGHT = 2;
/** last-used times of API keys are written this often, one statement for all keys used meanwhile */
const KEY_USES_FLUSH_MS = 10_000;

/**
 * Opens the API process's connections. `close` ends them all, in the reverse order. Refuses (throws)
 * if the database lacks a migration this code knows: the core's, or the app's (`migrations`).
 * `admin` is what the admin server needs besides the public document, on the same connections.
 */
export async function createApiDeps(
  config: Config,
  log: Logger,
  migrations: readonly MigrationSet[] = [],
): Promise<{ deps: AppDeps; admin: Omit<AdminDeps, 'openapi'>; close(): Promise<void> }> {
  const onError = (what: string) => (err: Error) => log.warn({ err }, `${what} connection error`);
  const { db } = createDb({
    connectionString: config.databaseUrl,
    poolSize: config.pgPoolSize,
    applicationName: 'idemq-api',
    onIdleError: onError('postgres'),
  });
  await assertMigrated(db, migrations).catch(async (err) => {
    await db.destroy();
    throw err;
  });
  const keys = createKeyRing(db, {
    refreshMs: config.apiKeysRefreshMs,
    flushMs: KEY_USES_FLUSH_MS,
    envHashes: [...config.apiKeys.keys()].map(hashSecret),
    onError: (what, err) => log.warn({ err }, what === 'refresh' ? 'API keys not refreshed: the last known keys stay in force' : 'API key last-used times not written yet'),
    onRecovered: (what) => log.info(`API key ${what} works again`),
  });
  // the stored keys are known before the first request
  await keys.refresh().catch(async (err) => {
    await keys.close();
    await db.destroy();
    throw err;
  });
  const producer = createRedis(config.redisUrl, 'producer', onError('redis'));
  const telemetry = queueTelemetry(config.tracing);
  const queue = createRequestQueue(producer, config.queuePrefix, telemetry);
  queue.on('error', onError('queue'));
  const metrics = createApiMetrics({ db, queue, watched: () => feed.watched });
  const feed = createStatusFeed(
    createRedis(config.redisUrl, 'blocking', onError('redis subscriber')),
    statusChannel(config.queuePrefix),
    onError('status feed'),
    (woken) => {
      metrics.statusEvents.inc();
      metrics.wakeups.inc(woken);
    },
  );
  const enqueue = createBatchedEnqueue(queue, { maxBatchSize: 500, maxConcurrentBatches: 2 });
  const store = createBatchingStore(db, { maxBatchSize: 500, maxConcurrentBatches: KEY_BATCHES_IN_FLIGHT });
  const accept = createAcceptor(store, { cacheSize: REPLAY_CACHE_SIZE });
  const rateLimitRedis = createRedis(config.redisUrl, 'limiter', onError('redis rate limit'));
  // until it is connected the limits pass everything; a Redis that is away does not hold the start up longer
  await waitUntilReady(rateLimitRedis, LIMITER_READY_WAIT_MS);
  const deps: AppDeps = {
    config,
    db,
    keys,
    feed,
    readRequest: createRequestReader(db, { maxConcurrentBatches: 2 }),
    metrics: metrics.registry,
    onPushed: metrics.pushed,
    accept: async (input) => {
      const stop = metrics.acceptSeconds.startTimer();
      const outcome = await accept(input);
      stop();
      metrics.accepted.inc({ outcome: outcome.kind });
      return outcome;
    },
    enqueue: (requests) => {
      // with tracing on, each job continues the trace its caller is in (the POST's enqueue span)
      const traced = telemetry ? requests.map((r) => ({ ...r, traceMetadata: telemetry.contextManager.getMetadata(context.active()) })) : requests;
      return withTimeout(enqueue(traced), ENQUEUE_TIMEOUT_MS, 'enqueue').catch((err) => {
        metrics.enqueueFailures.inc(requests.length);
        throw err;
      });
    },
    rateLimitRedis,
    checks: {
      postgres: { required: true, run: async () => void (await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()) },
      // without Redis requests are still recorded and answered 202; the reconciler enqueues them later
      redis: { required: false, run: async () => void (await producer.ping()) },
    },
  };
  const admin: Omit<AdminDeps, 'openapi'> = {
    token: config.admin.token,
    http: config.http,
    db,
    feed,
    readRequest: deps.readRequest,
    queue,
    metrics: metrics.registry,
    // the request's earlier job is finished and kept by BullMQ's retention: it would refuse the id
    requeue: async (request) => {
      await withTimeout(queue.remove(jobIdFor(request.id)), ENQUEUE_TIMEOUT_MS, 'remove finished job');
      await withTimeout(enqueueRequests(queue, [request]), ENQUEUE_TIMEOUT_MS, 'enqueue');
    },
  };
  return {
    deps,
    admin,
    async close() {
      await feed.close();
      await queue.close();
      rateLimitRedis.disconnect();
      producer.disconnect();
      await keys.close();
      await db.destroy();
    },
  };
}
