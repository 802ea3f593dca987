import { Redis } from 'ioredis';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { TEST_SERVICES } from './services.ts';

/**
 * What a Redis data loss looks like to one test: every key under `<prefix>:` deleted (SCAN + DEL),
 * on the test Redis, and nothing else touched. Returns how many keys went.
 */
export async function deleteQueueKeys(prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new Error(`refusing to delete keys of the prefix ${JSON.stringify(prefix)}`);
  const redis = new Redis(TEST_SERVICES.redisUrl, { ...REDIS_PROTOCOL, maxRetriesPerRequest: 3 });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}
