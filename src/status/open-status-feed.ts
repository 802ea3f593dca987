import { Cluster } from 'ioredis';
import { statusChannel } from '../outbox/status-channels.ts';
import { createRedis, type RedisTarget } from '../redis.ts';
import { createShardedStatusFeed } from './sharded-status-feed.ts';
import { createStatusFeed, type StatusFeed } from './status-feed.ts';

/**
 * The API instance's status feed on its own connection: one channel on a standalone Redis,
 * sharded pub/sub on a cluster. `onError(what)` makes the logger of a connection's errors.
 */
export function openStatusFeed(
  config: RedisTarget & { queuePrefix: string },
  onError: (what: string) => (err: Error) => void,
  onWake?: (listeners: number) => void,
): StatusFeed {
  const subscriber = createRedis(config, 'blocking', onError('redis subscriber'));
  return subscriber instanceof Cluster
    ? createShardedStatusFeed(subscriber, config.queuePrefix, onError('status feed'), onWake)
    : createStatusFeed(subscriber, statusChannel(config.queuePrefix), onError('status feed'), onWake);
}
