import { type Kysely, sql } from 'kysely';
import type { Database, StatusEvent } from '../db/database.ts';

/** How many events the outbox holds (a row holds one, or a batch's as an array), as a select item. */
export const OUTBOX_EVENT_COUNT = sql<string>`coalesce(sum(case jsonb_typeof(payload) when 'array' then jsonb_array_length(payload) else 1 end), 0)`;

/**
 * The most events one published message carries: a relay catching up on a backlog of batch rows
 * claims many thousands of events at once, and one message of them all would hold up every
 * subscriber's connection while it is parsed.
 */
export const RELAY_MESSAGE_EVENTS = 1_000;

/**
 * Claims up to `limit` outbox rows (each one event, or a batch's events), oldest first, deletes
 * them, and hands their events to `publish` (in messages of at most RELAY_MESSAGE_EVENTS) before
 * the transaction commits. Rows another relay holds are skipped, never waited for. If `publish`
 * throws or the process dies before the commit, the rows stay and are published again: delivery
 * is at least once.
 * Returns how many events were published (at least as many as the rows claimed).
 */
export async function relayOutboxBatch(
  db: Kysely<Database>,
  limit: number,
  publish: (events: StatusEvent[]) => Promise<void>,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    // claims and deletes in one statement; a rollback (publish failed, the process died) restores them
    const { rows } = await sql<{ id: number; payload: StatusEvent | StatusEvent[] }>`
      delete from idemq.outbox where id in (
        select id from idemq.outbox order by id limit ${limit} for update skip locked
      ) returning id, payload`.execute(trx);
    if (rows.length === 0) return 0;
    const events = rows.sort((a, b) => a.id - b.id).flatMap((r) => r.payload);
    for (let i = 0; i < events.length; i += RELAY_MESSAGE_EVENTS) await publish(events.slice(i, i + RELAY_MESSAGE_EVENTS));
    return events.length;
  });
}
