import { type Kysely, sql } from 'kysely';
import type { Database, StatusEvent } from '../db/database.ts';

/**
 * Claims up to `limit` events, oldest first, deletes them, and hands them to `publish` before the
 * transaction commits. Rows another relay holds are skipped, never waited for. If `publish` throws
 * or the process dies before the commit, the rows stay and are published again: delivery is at
 * least once.
 * Returns how many events were published.
 */
export async function relayOutboxBatch(
  db: Kysely<Database>,
  limit: number,
  publish: (events: StatusEvent[]) => Promise<void>,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    // claims and deletes in one statement; a rollback (publish failed, the process died) restores them
    const { rows } = await sql<{ id: number; payload: StatusEvent }>`
      delete from idemq.outbox where id in (
        select id from idemq.outbox order by id limit ${limit} for update skip locked
      ) returning id, payload`.execute(trx);
    if (rows.length === 0) return 0;
    await publish(rows.sort((a, b) => a.id - b.id).map((r) => r.payload));
    return rows.length;
  });
}
