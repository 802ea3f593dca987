import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.ts';
import { expireRequestBatch } from '../src/idempotency/request-maintenance.repository.ts';

/**
 * Deletes one bounded batch (at most `batchSize` rows, oldest expiry first) of finished
 * idempotency records past their expiry (completion + retention); their outbox rows go with them
 * by cascade, ledger rows stay. Rows another process holds are skipped, never waited for. An
 * unfinished record has no expiry and is kept: the client holds a 202 for it, so it must still run
 * (the reconciler sees to that). Once deleted, the key starts a new request.
 * Returns whether a full batch suggests more are due.
 */
export async function expireOnce(db: Kysely<Database>, batchSize: number): Promise<{ more: boolean; deleted: number }> {
  const deleted = await expireRequestBatch(db, batchSize);
  return { more: deleted === batchSize, deleted };
}
