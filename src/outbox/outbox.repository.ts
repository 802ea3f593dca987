import { type Kysely, sql } from 'kysely';
import type { Database, StatusEvent } from '../db/database.ts';

/**
 * Claims up to `limit` events, oldest first, hands them to `publish`, and deletes them in the same
 * transaction. Rows another relay holds are skipped, never waited for. If `publish` throws or the
 * process dies before the commit, the rows stay and are published again: delivery is at least once.
 * Returns how many events were published.
 */
export async function relayOutboxBatch(
  db: Kysely<Database>,
  limit: number,
  publish: (events: StatusEvent[]) => Promise<void>,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('outbox')
      .select(['id', 'payload'])
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (rows.length === 0) return 0;
    await publish(rows.map((r) => r.payload));
    await trx
      .deleteFrom('outbox')
      .where('id', '=', sql<string>`any(${sql.val(rows.map((r) => r.id))}::bigint[])`)
      .execute();
    return rows.length;
  });
}
