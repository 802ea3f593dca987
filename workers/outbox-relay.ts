import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.ts';
import { relayOutboxBatch } from '../src/outbox/outbox.repository.ts';
import type { StatusPublisher } from '../src/outbox/status-publisher.ts';

export const RELAY_BATCH_SIZE = 500;

/** One relay pass: publishes and deletes up to one batch of rows; says whether a full batch suggests more. */
export async function relayOnce(
  db: Kysely<Database>,
  publish: StatusPublisher,
  batchSize = RELAY_BATCH_SIZE,
): Promise<{ more: boolean; published: number }> {
  const published = await relayOutboxBatch(db, batchSize, publish);
  // a row may hold many events: as many events as rows asked for may still have left rows behind
  return { more: published >= batchSize, published };
}
