import { type Kysely, sql } from 'kysely';
import type { Database, RequestRow } from '../db/database.ts';
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
    ), event as (
      insert into idemq.outbox (request_id, payload)
      select null, jsonb_build_array(jsonb_build_object(
               'requestId', id, 'tenantId', tenant_id, 'status', status, 'version', version + 1, 'deleted', true))
        from deleted
    )
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
    ), event as (
      insert into idemq.outbox (request_id, payload)
      select id, jsonb_build_object('requestId', id, 'tenantId', tenant_id, 'status', status, 'version', version)
        from changed
    )
    select * from changed`.execute(db);
  return rows[0];
}
