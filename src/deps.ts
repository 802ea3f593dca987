import type { Logger } from 'pino';
import type { AppDeps } from './app.ts';
import type { Config } from './config.ts';
import { assertMigrated } from './db/check-migrations.ts';
import { createDb } from './db/create-db.ts';
import type { MigrationSet } from './db/migrator.ts';
import { createAcceptor } from './idempotency/request-acceptor.ts';
import { createRequestReader } from './idempotency/request-reader.ts';
import { createBatchingStore } from './idempotency/request-store.ts';
import { createApiMetrics } from './metrics.ts';
import { createBatchedEnqueue } from './queue/batched-enqueue.ts';
import { createRequestQueue } from './queue/request-queue.ts';
import { createRedis, waitUntilReady, withTimeout } from './redis.ts';
import { createStatusFeed, statusChannel } from './status/status-feed.ts';

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

/**
 * Opens the API process's connections. `close` ends them all, in the reverse order. Refuses (throws)
 * if the database lacks a migration this code knows: the core's, or the app's (`migrations`).
 */
export async function createApiDeps(config: Config, log: Logger, migrations: readonly MigrationSet[] = []): Promise<{ deps: AppDeps; close(): Promise<void> }> {
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
  const producer = createRedis(config.redisUrl, 'producer', onError('redis'));
  const queue = createRequestQueue(producer, config.queuePrefix);
  queue.on('error', onError('queue'));
  const feed = createStatusFeed(createRedis(config.redisUrl, 'blocking', onError('redis subscriber')), statusChannel(config.queuePrefix), onError('status feed'));
  const enqueue = createBatchedEnqueue(queue, { maxBatchSize: 500, maxConcurrentBatches: 2 });
  const store = createBatchingStore(db, { maxBatchSize: 500, maxConcurrentBatches: KEY_BATCHES_IN_FLIGHT });
  const accept = createAcceptor(store, { cacheSize: REPLAY_CACHE_SIZE });
  const rateLimitRedis = createRedis(config.redisUrl, 'limiter', onError('redis rate limit'));
  // until it is connected the limits pass everything; a Redis that is away does not hold the start up longer
  await waitUntilReady(rateLimitRedis, LIMITER_READY_WAIT_MS);
  const metrics = createApiMetrics({ db, queue, watched: () => feed.watched });
  const deps: AppDeps = {
    config,
    db,
    feed,
    readRequest: createRequestReader(db, { maxConcurrentBatches: 2 }),
    metrics: metrics.registry,
    accept: async (input) => {
      const stop = metrics.acceptSeconds.startTimer();
      const outcome = await accept(input);
      stop();
      metrics.accepted.inc({ outcome: outcome.kind });
      return outcome;
    },
    enqueue: (requests) =>
      withTimeout(enqueue(requests), ENQUEUE_TIMEOUT_MS, 'enqueue').catch((err) => {
        metrics.enqueueFailures.inc(requests.length);
        throw err;
      }),
    rateLimitRedis,
    checks: {
      postgres: { required: true, run: async () => void (await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()) },
      // without Redis requests are still recorded and answered 202; the reconciler enqueues them later
      redis: { required: false, run: async () => void (await producer.ping()) },
    },
  };
  return {
    deps,
    async close() {
      await feed.close();
      await queue.close();
      rateLimitRedis.disconnect();
      producer.disconnect();
      await db.destroy();
    },
  };
}
