import { type Kysely, sql } from 'kysely';
import type { Database, StatusEvent } from '../db/database.ts';

/** How many events the outbox holds (a row holds one, or a batch's as an array), as a select item. */
export const OUTBOX_EVENT_COUNT = sql<string>`coalesce(sum(case jsonb_typeof(payload) when 'array' then jsonb_array_length(payload) else 1 end), 0)`;

/**
 * Claims up to `limit` outbox rows (each one event, or a batch's events), oldest first, deletes
 * them, and hands their events to `publish` before the transaction commits. Rows another relay
 * holds are skipped, never waited for. If `publish` throws or the process dies before the commit,
 * the rows stay and are published again: delivery is at least once.
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
    await publish(events);
    return events.length;
  });
}
