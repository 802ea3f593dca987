import { type Kysely, sql } from 'kysely';
import type { Database } from '../src/db/database.ts';

/**
 * Deletes one bounded batch of idempotency records past their expiry (their outbox rows go with
 * them by cascade; ledger rows stay). Rows another process is deleting are skipped. Once deleted,
 * the key starts a new request. Returns whether a full batch suggests more are due.
 */
export async function expireOnce(db: Kysely<Database>, batchSize: number): Promise<{ more: boolean; deleted: number }> {
  const result = await db
    .deleteFrom('requests')
    .where(
      'id',
      'in',
      db.selectFrom('requests').select('id').where(sql<boolean>`expires_at <= now()`).orderBy('expires_at').limit(batchSize).forUpdate().skipLocked(),
    )
    .executeTakeFirst();
  const deleted = Number(result.numDeletedRows);
  return { more: deleted === batchSize, deleted };
}
