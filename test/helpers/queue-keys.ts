import { Cluster, type Redis } from 'ioredis';
import { connectTestRedis } from './redis-target.ts';

/**
 * What a Redis data loss looks like to one test: every key under `<prefix>:` deleted (SCAN + DEL),
 * on the test Redis (on every master of the file's cluster), and nothing else touched. Returns how
 * many keys went.
 */
export async function deleteQueueKeys(prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new Error(`refusing to delete keys of the prefix ${JSON.stringify(prefix)}`);
  const redis = connectTestRedis();
  try {
    if (!(redis instanceof Cluster)) return await deleteOn(redis, prefix);
    await redis.ping();
    let deleted = 0;
    for (const master of redis.nodes('master')) deleted += await deleteOn(master, prefix);
    return deleted;
  } finally {
    redis.disconnect();
  }
}

async function deleteOn(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    cursor = next;
    // one key at a time: on a cluster node the keys of one SCAN page may lie in different slots
    for (const key of keys) deleted += await redis.del(key);
  } while (cursor !== '0');
  return deleted;
}
