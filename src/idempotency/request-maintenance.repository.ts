import { type Kysely, sql } from 'kysely';
import { type Database, TERMINAL_STATUSES } from '../db/database.ts';

/** The statements of upkeep on idemq.requests: expiry, the reconciler's pages, the backlog's counts. */

/**
 * Deletes one bounded batch (at most `limit` rows, oldest expiry first) of finished requests past
 * their expiry; their outbox rows go with them by cascade. Rows another transaction holds are
 * skipped, never waited for; an unfinished request has no expiry and is never deleted.
 * Returns how many rows it deleted.
 */
export async function expireRequestBatch(db: Kysely<Database>, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('idemq.requests')
    .where(
      'id',
      'in',
      db
        .selectFrom('idemq.requests')
        .select('id')
        .where(sql<boolean>`expires_at <= clock_timestamp()`)
        .where('status', 'in', TERMINAL_STATUSES)
        .orderBy('expires_at')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** An unfinished request as the reconciler pages through them; `updated_at` as Postgres wrote it. */
export interface UnfinishedRequest {
  id: string;
  operation: string;
  updated_at: string;
}

/**
 * One page of unfinished (queued or processing) requests untouched for `olderThanMs` (Postgres's
 * clock), in `(updated_at, id)` order, starting after `after` if given.
 */
export async function findUnfinishedPage(
  db: Kysely<Database>,
  page: { olderThanMs: number; limit: number; after?: { updatedAt: string; id: string } },
): Promise<UnfinishedRequest[]> {
  const { after } = page;
  return db
    .selectFrom('idemq.requests')
    .select(['id', 'operation', sql<string>`updated_at::text`.as('updated_at')])
    .where('status', 'in', ['queued', 'processing'])
    .where('updated_at', '<', sql<Date>`clock_timestamp() - make_interval(secs => ${page.olderThanMs / 1000})`)
    .$if(after !== undefined, (q) => q.where(sql<boolean>`(updated_at, id) > (${after!.updatedAt}::timestamptz, ${after!.id}::uuid)`))
    .orderBy('updated_at')
    .orderBy('id')
    .limit(page.limit)
    .execute();
}

/** How many requests are unfinished (queued or processing), per operation, in operation order. */
export async function countUnfinishedByOperation(db: Kysely<Database>): Promise<{ operation: string; unfinished: number }[]> {
  const { rows } = await sql<{ operation: string; unfinished: number }>`
    select operation, count(*)::int as unfinished from idemq.requests
     where status in ('queued', 'processing') group by operation order by operation`.execute(db);
  return rows;
}

/** How many requests are unfinished (queued or processing). */
export async function countUnfinishedRequests(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{
    unfinished: string;
  }>`select count(*) as unfinished from idemq.requests where status in ('queued', 'processing')`.execute(db);
  return Number(rows[0]?.unfinished ?? 0);
}
