import { Cluster } from 'ioredis';
import type { StatusEvent } from '../../src/db/database.ts';
import type { RedisTarget } from '../../src/redis.ts';
import { STATUS_BUCKETS, statusBucketChannel, statusChannel } from '../../src/outbox/status-channels.ts';
import { connectTestRedis } from './redis-target.ts';

/**
 * Hears every status event published under `config.queuePrefix`: on the one channel of a
 * standalone Redis, or on every bucket channel of a cluster. Resolves once subscribed.
 */
export async function spyOnStatusEvents(
  config: RedisTarget & { queuePrefix: string },
  onEvents: (events: StatusEvent[], channel: string) => void,
): Promise<{ close(): void }> {
  const redis = connectTestRedis(config);
  if (redis instanceof Cluster) {
    redis.on('smessage', (channel: string, message: string) => onEvents(JSON.parse(message), channel));
    // one SSUBSCRIBE per bucket: their channels lie in different slots
    for (let bucket = 0; bucket < STATUS_BUCKETS; bucket++) await redis.ssubscribe(statusBucketChannel(config.queuePrefix, bucket));
  } else {
    redis.on('message', (channel: string, message: string) => onEvents(JSON.parse(message), channel));
    await redis.subscribe(statusChannel(config.queuePrefix));
  }
  return { close: () => redis.disconnect() };
}
