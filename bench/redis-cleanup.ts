import { Redis } from 'ioredis';
import { REDIS_PROTOCOL } from '../src/redis.ts';

/** Deletes the keys under this run's own queue prefix, and nothing else (the Redis is shared). */
export async function deletePrefixedKeys(redisUrl: string, prefix: string): Promise<number> {
  if (!/^bench[A-Za-z0-9_-]+$/.test(prefix)) throw new Error(`refusing to delete keys outside a bench prefix (${prefix})`);
  const redis = new Redis(redisUrl, { ...REDIS_PROTOCOL, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
