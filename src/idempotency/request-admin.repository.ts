import { type Kysely, sql } from 'kysely';
import type { Database, RequestRow } from '../db/database.ts';
import { insertStatusEvents } from '../outbox/outbox.repository.ts';
import { isUuid } from '../uuid.ts';
import { STATEMENT_CLOCK } from './statement-clock.ts';
import { appendHistory } from './status-history.ts';

/** Statements an operator runs on any tenant's request (the admin console); tenant-blind by design. */

/** A request by id, whichever tenant it belongs to; undefined for an unknown or malformed id. */
export async function findRequestById(db: Kysely<Database>, id: string): Promise<RequestRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db.selectFrom('idemq.requests').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Deletes a finished (succeeded or failed) request, its outbox rows with it, so that its key starts
 * a new request; an unfinished one is never deleted (its client holds a 202 for it). In the same
 * statement it writes a status event marked `deleted` (version one past the row's) to the outbox,
 * on a row of no request so that it outlives the row: every API instance then forgets the request
 * (its replay cache). Returns the deleted row, or undefined when the id is unknown or the request
 * is unfinished.
 */
export async function deleteFinishedRequest(db: Kysely<Database>, id: string): Promise<RequestRow | undefined> {
  if (!isUuid(id)) return undefined;
  const { rows } = await sql<RequestRow>`
    with deleted as (
      delete from idemq.requests where id = ${id} and status in ('succeeded', 'failed')
      returning *
    ), event as (${insertStatusEvents('deleted', { deleted: true })})
    select * from deleted`.execute(db);
  return rows[0];
}

/**
 * Re-drives a request that failed with `processing_failed` (its attempts ran out): back to
 * `queued` with a fresh budget of attempts (`attempts` 0, no lease), result, error and expiry
 * cleared, its version bumped, a `queued` entry marked `redriven` appended to its history, and its
 * outbox event, in one autocommitted statement. Any other request is left as it is. Returns the
 * re-driven row, or undefined. The caller then enqueues it (or leaves that to the reconciler).
 */
export async function redriveRequest(db: Kysely<Database>, id: string): Promise<RequestRow | undefined> {
  if (!isUuid(id)) return undefined;
  const { rows } = await sql<RequestRow>`
    with clock as (${STATEMENT_CLOCK}), changed as (
      update idemq.requests r
         set status = 'queued', result = null, error = null, version = r.version + 1, updated_at = clock.t,
             expires_at = null, attempts = 0, lease_until = null,
             history = ${appendHistory(sql`'queued'`, sql`clock.t`, { redriven: true })}
        from clock
       where r.id = ${id} and r.status = 'failed' and r.error ->> 'code' = 'processing_failed'
      returning r.*
    ), event as (${insertStatusEvents('changed')})
    select * from changed`.execute(db);
  return rows[0];
}

/** The error code of a request an operator failed (failUnfinishedRequest). */
export const FAILED_BY_OPERATOR = 'failed_by_operator';

/**
 * Fails an unfinished request by an operator's decision, e.g. one whose operation no worker runs
 * any more (a forward route removed while its requests waited): `failed` with the error
 * `failed_by_operator` and `reason` as its message, a `failed` history entry marked `byOperator`
 * with the reason, its expiry set (now + its retention, so its key is released like any finished
 * one's), its version bumped and its outbox event written, in one autocommitted statement. Only a
 * request that is `queued`, or `processing` without a live lease (no worker is running it now), is
 * failed; a worker that takes its job later finds it terminal and leaves it. Returns the failed
 * row, or undefined.
 */
export async function failUnfinishedRequest(db: Kysely<Database>, id: string, reason: string): Promise<RequestRow | undefined> {
  if (!isUuid(id)) return undefined;
  const error = JSON.stringify({ code: FAILED_BY_OPERATOR, message: reason });
  const { rows } = await sql<RequestRow>`
    with clock as (${STATEMENT_CLOCK}), changed as (
      update idemq.requests r
         set status = 'failed', result = null, error = ${error}::jsonb, version = r.version + 1, updated_at = clock.t,
             expires_at = clock.t + make_interval(secs => r.retention_seconds), lease_until = null,
             history = ${appendHistory(sql`'failed'`, sql`clock.t`, { byOperator: true, reason })}
        from clock
       where r.id = ${id}
         and (r.status = 'queued' or (r.status = 'processing' and (r.lease_until is null or r.lease_until <= clock.t)))
      returning r.*
    ), event as (${insertStatusEvents('changed')})
    select * from changed`.execute(db);
  return rows[0];
}
