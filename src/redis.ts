import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/**
 * The ways the processes use Redis, each with the options BullMQ and ioredis want for it:
 * - `producer` (API enqueues, readiness): fails fast while Redis is away, so no request hangs;
 *   the record in Postgres is already durable and the reconciler enqueues later.
 * - `blocking` (BullMQ workers, pub/sub subscribers): waits for Redis as long as it takes.
 * - `publisher` (the outbox relay): retries a little, then fails so the relay retries the batch.
 * - `limiter` (the API's shared rate limits): a command that has no answer within a fraction of a
 *   second fails, and nothing waits for a connection, so a request is never held by the limiter.
 */
export type RedisRole = 'producer' | 'blocking' | 'publisher' | 'limiter';

/** A standalone Redis or a Redis Cluster: every use of Redis in idemq works on either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a standalone server's URL, or the seed nodes of a cluster (its credentials and TLS from the URL). */
export interface RedisTarget {
  redisUrl: string;
  /** empty: standalone at `redisUrl` */
  redisClusterNodes: readonly { host: string; port: number }[];
}

/**
 * RESP2 on every connection of the project, BullMQ's included (it duplicates the connections it is
 * given, options and all). idemq uses nothing that needs RESP3 (no client-side caching; pub/sub has
 * its own connection anyway), BullMQ's scripts answer the same under both, and RESP2 spares the
 * HELLO handshake that some Redis-compatible servers and proxies refuse, which would fail the
 * connection instead of falling back. ioredis 6 would otherwise negotiate RESP3.
 */
export const REDIS_PROTOCOL = { protocol: 2 } as const satisfies RedisOptions;

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  producer: { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 },
  blocking: { maxRetriesPerRequest: null },
  publisher: { maxRetriesPerRequest: 2, connectTimeout: 2_000 },
  limiter: { maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1_000, commandTimeout: 250 },
};

const retryStrategy = (times: number) => Math.min(50 * 2 ** times, 2_000);

/** Opens a connection for `role` to the standalone Redis or the cluster `target` names. */
export function createRedis(target: RedisTarget, role: RedisRole, onError: (err: Error) => void): RedisClient {
  const redis =
    target.redisClusterNodes.length > 0
      ? createCluster(target, role)
      : new Redis(target.redisUrl, {
          ...REDIS_PROTOCOL,
          ...ROLE_OPTIONS[role],
          // names the connection in CLIENT LIST, for operators (and the protocol test)
          connectionName: `idemq-${role}`,
          retryStrategy,
        });
  redis.on('error', onError);
  return redis;
}

/**
 * A cluster client: the role's options apply to every node connection, and the cluster itself
 * follows MOVED/ASK and refreshes its slot map when a replica is promoted. `shardedSubscribers`
 * keeps one subscriber connection per master that owns a subscribed channel's slot, so SSUBSCRIBE
 * reaches the node that SPUBLISH writes to, and ioredis resubscribes there after a failover.
 */
function createCluster(target: RedisTarget, role: RedisRole): Cluster {
  const { maxRetriesPerRequest, enableOfflineQueue, ...nodeOptions } = ROLE_OPTIONS[role];
  const url = new URL(target.redisUrl);
  const options: ClusterOptions = {
    redisOptions: {
      ...REDIS_PROTOCOL,
      ...nodeOptions,
      maxRetriesPerRequest,
      connectionName: `idemq-${role}`,
      ...(url.username && { username: decodeURIComponent(url.username) }),
      ...(url.password && { password: decodeURIComponent(url.password) }),
      ...(url.protocol === 'rediss:' && { tls: {} }),
    },
    ...(enableOfflineQueue !== undefined && { enableOfflineQueue }),
    clusterRetryStrategy: retryStrategy,
    shardedSubscribers: true,
    // a promoted replica is found by the MOVED answers; the interval only bounds how stale an idle client's map is
    slotsRefreshInterval: 2_000,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
  };
  return new Cluster(
    target.redisClusterNodes.map((n) => ({ ...n })),
    options,
  );
}

/** Resolves once `redis` is ready, or after `ms` in any case (true if it is ready). */
export async function waitUntilReady(redis: RedisClient, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  let onReady: () => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const ready = await new Promise<boolean>((resolve) => {
    onReady = () => resolve(true);
    redis.once('ready', onReady);
    timer = setTimeout(() => resolve(false), ms);
  });
  clearTimeout(timer);
  redis.off('ready', onReady);
  return ready;
}
