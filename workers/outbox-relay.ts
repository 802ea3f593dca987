import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Database, StatusEvent } from '../src/db/database.ts';
import { relayOutboxBatch } from '../src/outbox/outbox.repository.ts';
import { encodeStatusEvents } from '../src/status/status-feed.ts';

export const RELAY_BATCH_SIZE = 500;

/** Publishes a batch of status events as one pub/sub message on the status channel. */
export function createPublisher(redis: Redis, channel: string) {
  return async (events: StatusEvent[]): Promise<void> => {
    await redis.publish(channel, encodeStatusEvents(events));
  };
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
