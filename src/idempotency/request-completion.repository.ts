import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, RequestError, RequestRow, RequestStatus } from '../db/database.ts';
import { insertStatusEvents } from '../outbox/outbox.repository.ts';
import type { TraceCarrier } from '../tracing/spans.ts';
import { lockRequests } from './request.repository.ts';
import { isTerminal } from './request-view.ts';
import { STATEMENT_CLOCK } from './statement-clock.ts';
import { appendHistory } from './status-history.ts';

/** The statements that move a request through a worker's hands: to processing, then to its outcome. */

export type Outcome = { ok: true; result: unknown } | { ok: false; error: RequestError };

interface Change {
  id: string;
  status: RequestStatus;
  result: string | null;
  error: string | null;
}

/**
 * One statement (one array parameter per column, whatever the batch size): changes the status of
 * every listed request, bumps their versions and writes one outbox event each (all of them in one
 * outbox row), so the changes and their events commit together (or not at all) in the caller's
 * transaction; each change is appended to the row's status history. With `onlyFrom`, a
 * request changes only if it has that status now. A request made terminal here gets its expiry:
 * the statement's time + its retention (Postgres's clock, the one every process shares; the
 * statement's, not the transaction's start, so a transaction that waited on locks still keeps
 * the key for the whole retention after it commits). Returns the changed rows
 * (with `idsOnly`, only their ids).
 */
async function transition(
  db: Kysely<Database>,
  changes: Change[],
  onlyFrom?: RequestStatus,
  traces?: ReadonlyMap<string, TraceCarrier>,
): Promise<RequestRow[]>;
async function transition(
  db: Kysely<Database>,
  changes: Change[],
  onlyFrom: RequestStatus | undefined,
  traces: ReadonlyMap<string, TraceCarrier> | undefined,
  idsOnly: true,
): Promise<Pick<RequestRow, 'id'>[]>;
async function transition(
  db: Kysely<Database>,
  changes: Change[],
  onlyFrom?: RequestStatus,
  traces?: ReadonlyMap<string, TraceCarrier>,
  idsOnly = false,
): Promise<Pick<RequestRow, 'id'>[]> {
  if (changes.length === 0) return [];
  const result = await sql<RequestRow>`
    with clock as (${STATEMENT_CLOCK}), changed as (
      update idemq.requests r
         set status = v.status, result = coalesce(v.result, r.result), error = coalesce(v.error, r.error),
             version = r.version + 1, updated_at = clock.t, history = ${appendHistory(sql`v.status`, sql`clock.t`)},
             -- the key is kept for its retention from the moment the request became terminal
             expires_at = case when v.status in ('succeeded', 'failed') then clock.t + make_interval(secs => r.retention_seconds)
                               else r.expires_at end
        from unnest(${changes.map((c) => c.id)}::uuid[], ${changes.map((c) => c.status)}::text[],
                    ${changes.map((c) => c.result)}::jsonb[], ${changes.map((c) => c.error)}::jsonb[]) as v(id, status, result, error),
             clock
       where r.id = v.id ${onlyFrom ? sql`and r.status = ${onlyFrom}` : sql``}
      -- only what the event needs when the caller needs no rows: whole rows (payload, history) cost both ends a copy
      returning ${idsOnly ? sql`r.id, r.tenant_id, r.status, r.version` : sql`r.*`}
    ), event as (${insertStatusEvents('changed', { oneRow: true, traces })})
    select ${idsOnly ? sql`id` : sql`*`} from changed`.execute(db);
  return result.rows;
}

/**
 * Moves the listed requests that are queued to `processing`, with their outbox events (carrying
 * each request's entry of `traces`, if any), in one
 * autocommitted statement; requests already started, finished or gone are left as they are.
 * Returns the ids of the requests it moved.
 */
export async function markProcessing(
  db: Kysely<Database>,
  ids: readonly string[],
  traces?: ReadonlyMap<string, TraceCarrier>,
): Promise<string[]> {
  const rows = await transition(
    db,
    ids.map((id) => ({ id, status: 'processing', result: null, error: null })),
    'queued',
    traces,
    true,
  );
  return rows.map((r) => r.id);
}

/**
 * Stores the terminal outcomes of locked requests, with their outbox events (carrying each
 * request's entry of `traces`, if any), in the caller's
 * transaction: the one that committed the business effects. The caller must hold the row locks
 * (lockRequests) and have checked that the requests are not terminal yet. Returns rows by id.
 */
export async function completeRequests(
  trx: Transaction<Database>,
  outcomes: ReadonlyMap<string, Outcome>,
  traces?: ReadonlyMap<string, TraceCarrier>,
): Promise<Map<string, RequestRow>> {
  const changes = [...outcomes].map(([id, o]): Change =>
    o.ok
      ? { id, status: 'succeeded', result: JSON.stringify(o.result ?? null), error: null }
      : { id, status: 'failed', result: null, error: JSON.stringify(o.error) },
  );
  const rows = await transition(trx, changes, undefined, traces);
  if (rows.length !== changes.length) throw new Error('a locked request vanished before its completion');
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * Ends an unfinished request as failed with `error` (its attempts ran out), with its outbox event,
 * in one short transaction; a no-op on a terminal one. Returns the request's row as it is then
 * (undefined when it is gone).
 */
export async function failRequest(db: Kysely<Database>, requestId: string, error: RequestError): Promise<RequestRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const [row] = await lockRequests(trx, [requestId]);
    if (!row || isTerminal(row.status)) return row;
    return (await completeRequests(trx, new Map([[row.id, { ok: false, error }]]))).get(row.id);
  });
}
