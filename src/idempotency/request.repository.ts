import { type Kysely, sql, type Transaction } from 'kysely';
import { anyUuid } from '../db/any-uuid.ts';
import type { Database, RequestRow } from '../db/database.ts';

/** The statements of accept and of reads by key or id, on idemq.requests. */

export interface NewRequest {
  tenantId: string;
  key: string;
  fingerprint: string;
  operation: string;
  payload: unknown;
  ttlSeconds: number;
}

/**
 * Retention ends at expires_at, which only a terminal request has (completion + its retention).
 * An unfinished one (expires_at null) keeps its key however old it is: the client holds a 202 for
 * it, and a new request under the key would run the operation a second time. Compared with the
 * statement's clock, as the expiry was stamped (see STATEMENT_CLOCK).
 */
export const RETENTION_OVER = sql<boolean>`coalesce(expires_at <= clock_timestamp() and status in ('succeeded', 'failed'), false)`;

export interface TenantKey {
  tenantId: string;
  key: string;
}

export type KeyedRow = RequestRow & { expired: boolean };

/** One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING: the rows it inserted. */
export async function insertRequestsIfAbsent(db: Kysely<Database>, batch: readonly NewRequest[]): Promise<RequestRow[]> {
  return db
    .insertInto('idemq.requests')
    .values(
      batch.map((r) => ({
        tenant_id: r.tenantId,
        idempotency_key: r.key,
        fingerprint: r.fingerprint,
        operation: r.operation,
        payload: JSON.stringify(r.payload),
        // expires_at stays null until the request is terminal (transition in request-completion.repository.ts)
        retention_seconds: r.ttlSeconds,
      })),
    )
    .onConflict((oc) => oc.columns(['tenant_id', 'idempotency_key']).doNothing())
    .returningAll()
    .execute();
}

/** The tenant's record under a key, with whether it has outlived its retention (see RETENTION_OVER). */
export async function findRequestByKey(db: Kysely<Database>, tenantId: string, key: string): Promise<KeyedRow | undefined> {
  return db
    .selectFrom('idemq.requests')
    .selectAll()
    .select(RETENTION_OVER.as('expired'))
    .where('tenant_id', '=', tenantId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

/** One statement for many keys: the rows found (with whether their retention is over), in any order. */
export async function findRequestsByKeys(db: Kysely<Database>, keys: readonly TenantKey[]): Promise<KeyedRow[]> {
  return db
    .selectFrom('idemq.requests')
    .selectAll()
    .select(RETENTION_OVER.as('expired'))
    .where((eb) =>
      eb(
        eb.refTuple('tenant_id', 'idempotency_key'),
        'in',
        keys.map((k) => eb.tuple(k.tenantId, k.key)),
      ),
    )
    .execute();
}

/** One `id = any($1)` statement: the rows of `ids` (whichever tenant's), in any order; an id without one is left out. */
export async function findRequestsByIds(db: Kysely<Database>, ids: readonly string[]): Promise<RequestRow[]> {
  return db.selectFrom('idemq.requests').selectAll().where('id', '=', anyUuid(ids)).execute();
}

/** The operation a request was recorded for; undefined when the request is gone. */
export async function findOperationOf(db: Kysely<Database>, id: string): Promise<string | undefined> {
  const row = await db.selectFrom('idemq.requests').select('operation').where('id', '=', id).executeTakeFirst();
  return row?.operation;
}

/**
 * Removes one record if, and only if, its retention is over (another process may have renewed the
 * key meanwhile). A record a worker holds is waited for, then re-checked: one that was just
 * finished by that worker is only deleted if it is past its expiry by then.
 */
export async function deleteExpiredRequest(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('idemq.requests').where('id', '=', id).where(RETENTION_OVER).execute();
}

/**
 * Locks the records for the rest of the transaction, in id order (so two lockers never deadlock):
 * the fence that makes a second delivery a no-op. Missing ids are simply absent from the result.
 */
export async function lockRequests(trx: Transaction<Database>, ids: readonly string[]): Promise<RequestRow[]> {
  if (ids.length === 0) return [];
  return trx.selectFrom('idemq.requests').selectAll().where('id', '=', anyUuid(ids)).orderBy('id').forUpdate().execute();
}
