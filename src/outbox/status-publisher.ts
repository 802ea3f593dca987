import { Cluster, type Redis } from 'ioredis';
import type { StatusEvent } from '../db/database.ts';
import type { RedisClient } from '../redis.ts';
import { statusChannel, statusChannelOf } from './status-channels.ts';

/** Publishes a batch of status events (the outbox relay's `publish`); rejects when Redis does not take it. */
export type StatusPublisher = (events: StatusEvent[]) => Promise<void>;

/** Serialises a batch of events as one pub/sub message (read back by the status feed's listeners). */
export function encodeStatusEvents(events: StatusEvent[]): string {
  return JSON.stringify(events);
}

/**
 * Publishes a batch of status events as one pub/sub message on `channel`, each event as `stamp`
 * makes it at that moment (the stage timings: createStageTimings).
 */
export function createPublisher(
  redis: Redis,
  channel: string,
  stamp: (events: StatusEvent[]) => StatusEvent[] = (e) => e,
): StatusPublisher {
  return async (events) => {
    await redis.publish(channel, encodeStatusEvents(stamp(events)));
  };
}

/**
 * Publishes each event on its request's bucket channel with SPUBLISH: a batch becomes one message
 * per bucket it touches, each written only to the shard that owns the channel's slot.
 */
export function createShardedPublisher(
  cluster: Cluster,
  prefix: string,
  stamp: (events: StatusEvent[]) => StatusEvent[] = (e) => e,
): StatusPublisher {
  return async (events) => {
    const byChannel = new Map<string, StatusEvent[]>();
    for (const event of stamp(events)) {
      const channel = statusChannelOf(prefix, event.requestId);
      const batch = byChannel.get(channel);
      if (batch) batch.push(event);
      else byChannel.set(channel, [event]);
    }
    await Promise.all([...byChannel].map(([channel, batch]) => cluster.spublish(channel, encodeStatusEvents(batch))));
  };
}

/**
 * The publisher for `redis`: the one status channel of a standalone Redis, or a cluster's sharded
 * channels; each event as `stamp` makes it at the moment of publishing (the stage timings).
 */
export function createStatusPublisher(
  redis: RedisClient,
  prefix: string,
  stamp?: (events: StatusEvent[]) => StatusEvent[],
): StatusPublisher {
  return redis instanceof Cluster ? createShardedPublisher(redis, prefix, stamp) : createPublisher(redis, statusChannel(prefix), stamp);
}
