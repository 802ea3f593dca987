import { Redis, type RedisOptions } from 'ioredis';

/**
 * The three ways the processes use Redis, each with the options BullMQ and ioredis want for it:
 * - `producer` (API enqueues, readiness): fails fast while Redis is away, so no request hangs;
 *   the record in Postgres is already durable and the reconciler enqueues later.
 * - `blocking` (BullMQ workers, pub/sub subscribers): waits for Redis as long as it takes.
 * - `publisher` (the outbox relay): retries a little, then fails so the relay retries the batch.
 */
export type RedisRole = 'producer' | 'blocking' | 'publisher';

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  producer: { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 },
  blocking: { maxRetriesPerRequest: null },
  publisher: { maxRetriesPerRequest: 2, connectTimeout: 2_000 },
};

export function createRedis(url: string, role: RedisRole, onError: (err: Error) => void): Redis {
  const redis = new Redis(url, {
    ...ROLE_OPTIONS[role],
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
  });
  redis.on('error', onError);
  return redis;
}

/** Rejects with a transient error if `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}
