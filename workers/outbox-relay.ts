import { Cluster, type Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Database, StatusEvent } from '../src/db/database.ts';
import { relayOutboxBatch } from '../src/outbox/outbox.repository.ts';
import type { RedisClient } from '../src/redis.ts';
import { createShardedPublisher } from '../src/status/sharded-status-feed.ts';
import { encodeStatusEvents, statusChannel } from '../src/status/status-feed.ts';

export const RELAY_BATCH_SIZE = 500;

/**
 * Publishes a batch of status events as one pub/sub message on the status channel, each event as
 * `stamp` makes it at that moment (the stage timings: createStageTimings).
 */
export function createPublisher(redis: Redis, channel: string, stamp: (events: StatusEvent[]) => StatusEvent[] = (e) => e) {
  return async (events: StatusEvent[]): Promise<void> => {
    await redis.publish(channel, encodeStatusEvents(stamp(events)));
  };
}

/**
 * The publisher for `redis`: the one status channel of a standalone Redis, or a cluster's sharded
 * channels; each event as `stamp` makes it at the moment of publishing (the stage timings).
 */
export function createStatusPublisher(redis: RedisClient, prefix: string, stamp?: (events: StatusEvent[]) => StatusEvent[]) {
  return redis instanceof Cluster ? createShardedPublisher(redis, prefix, stamp) : createPublisher(redis, statusChannel(prefix), stamp);
}

/** One relay pass: publishes and deletes up to one batch of rows; says whether a full batch suggests more. */
export async function relayOnce(
  db: Kysely<Database>,
  publish: (events: StatusEvent[]) => Promise<void>,
  batchSize = RELAY_BATCH_SIZE,
): Promise<{ more: boolean; published: number }> {
  const published = await relayOutboxBatch(db, batchSize, publish);
  // a row may hold many events: as many events as rows asked for may still have left rows behind
  return { more: published >= batchSize, published };
}
