import { type Kysely, sql } from 'kysely';
import type { Database, RequestStatus } from '../db/database.ts';

/** What the console's list narrows to; every field is optional and they combine with AND. */
export interface RequestListFilter {
  status?: RequestStatus;
  operation?: string;
  tenant?: string;
  /** a failed request's `error.code`, exactly */
  errorCode?: string;
  /** created at or after, ISO 8601 text */
  from?: string;
  /** created before, ISO 8601 text */
  to?: string;
}

/** Where a page ends: the last row's created_at (ISO text to the microsecond) and id. */
export interface ListPosition {
  createdAt: string;
  id: string;
}

export interface RequestListRow {
  id: string;
  tenant_id: string;
  idempotency_key: string;
  operation: string;
  status: RequestStatus;
  error_code: string | null;
  attempts: number;
  /** created_at as ISO text to the microsecond: a Date would drop the microseconds the keyset orders by */
  created_at_text: string;
  updated_at: Date;
}

const ISO_MICROS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/**
 * The statement of one page (`limit` + 1 rows, the extra one telling whether a next page exists),
 * not yet run: listRequests runs it, and scripts/console-list-plan.ts explains it.
 */
export function listRequestsQuery(db: Kysely<Database>, filter: RequestListFilter, after: ListPosition | undefined, limit: number) {
  let query = db
    .selectFrom('idemq.requests')
    .select([
      'id',
      'tenant_id',
      'idempotency_key',
      'operation',
      'status',
      sql<string | null>`error ->> 'code'`.as('error_code'),
      'attempts',
      sql<string>`to_char(created_at at time zone 'UTC', ${sql.raw(ISO_MICROS)})`.as('created_at_text'),
      'updated_at',
    ]);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.operation !== undefined) query = query.where('operation', '=', filter.operation);
  if (filter.tenant !== undefined) query = query.where('tenant_id', '=', filter.tenant);
  // `error is not null` lets the planner use the partial index on the code
  if (filter.errorCode !== undefined)
    query = query.where('error', 'is not', null).where(sql<string>`error ->> 'code'`, '=', filter.errorCode);
  if (filter.from !== undefined) query = query.where('created_at', '>=', sql<Date>`${filter.from}::timestamptz`);
  if (filter.to !== undefined) query = query.where('created_at', '<', sql<Date>`${filter.to}::timestamptz`);
  if (after) query = query.where(sql<boolean>`(created_at, id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`);
  return query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1);
}

/**
 * One page of requests of any tenant, newest first, ordered by (created_at, id) descending and
 * starting strictly after `after` (a keyset: a row inserted meanwhile never shifts a page, so
 * paging neither skips nor repeats a row). Returns at most `limit` rows and the position the next
 * page starts from, or null when none is left. Each filter has an index ending in
 * (created_at, id) (migration 006h), so a page reads about `limit` index entries.
 */
export async function listRequests(
  db: Kysely<Database>,
  filter: RequestListFilter,
  after: ListPosition | undefined,
  limit: number,
): Promise<{ rows: RequestListRow[]; next: ListPosition | null }> {
  const rows = await listRequestsQuery(db, filter, after, limit).execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, next: rows.length > limit && last ? { createdAt: last.created_at_text, id: last.id } : null };
}
