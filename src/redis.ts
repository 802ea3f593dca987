import { Redis, type RedisOptions } from 'ioredis';

/**
 * The three ways the processes use Redis, each with the options BullMQ and ioredis want for it:
 * - `producer` (API enqueues, readiness): fails fast while Redis is away, so no request hangs;
 *   the record in Postgres is already durable and the reconciler enqueues later.
 * - `blocking` (BullMQ workers, pub/sub subscribers): waits for Redis as long as it takes.
 * - `publisher` (the outbox relay): retries a little, then fails so the relay retries the batch.
 * - `limiter` (the API's shared rate limits): a command that has no answer within a fraction of a
 *   second fails, and nothing waits for a connection, so a request is never held by the limiter.
 */
export type RedisRole = 'producer' | 'blocking' | 'publisher' | 'limiter';

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

export function createRedis(url: string, role: RedisRole, onError: (err: Error) => void): Redis {
  const redis = new Redis(url, {
    ...REDIS_PROTOCOL,
    ...ROLE_OPTIONS[role],
    // names the connection in CLIENT LIST, for operators (and the protocol test)
    connectionName: `idemq-${role}`,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
  });
  redis.on('error', onError);
  return redis;
}

/** Resolves once `redis` is ready, or after `ms` in any case (true if it is ready). */
export async function waitUntilReady(redis: Redis, ms: number): Promise<boolean> {
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
