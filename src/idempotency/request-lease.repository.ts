import { type Kysely, sql } from 'kysely';
import type { Database, RequestRow } from '../db/database.ts';
import { insertStatusEvents } from '../outbox/outbox.repository.ts';
import { completeRequests, type Outcome } from './request-completion.repository.ts';
import { lockRequests } from './request.repository.ts';
import { isTerminal } from './request-view.ts';
import type { TraceCarrier } from '../tracing/spans.ts';
import { STATEMENT_CLOCK } from './statement-clock.ts';
import { appendHistory } from './status-history.ts';

/** How a kind of leased operation is claimed: by name, how long one attempt may hold it, how many attempts it gets. */
export interface LeaseTerms {
  operation: string;
  leaseMs: number;
  maxAttempts: number;
}

export type Claim =
  /** this call started attempt `row.attempts`; its outcome is recorded only while the row still carries that number */
  | { kind: 'claimed'; row: RequestRow }
  /** another attempt holds the lease, or the next attempt may not start yet: ask again in `leftMs` */
  | { kind: 'leased'; leftMs: number }
  /** every attempt was started and the last one's lease is over without an outcome */
  | { kind: 'exhausted'; row: RequestRow }
  | { kind: 'terminal'; row: RequestRow }
  /** not an operation of `terms`: the caller runs it some other way */
  | { kind: 'other'; operation: string }
  | { kind: 'missing' };

/**
 * Starts the next attempt of a request, in one autocommitted statement: only if the request is
 * unfinished, its operation is one of `terms`, no lease is live and attempts remain. It counts the
 * attempt, takes the lease (the statement's time + the operation's leaseMs, Postgres's clock) and, on the first
 * attempt, moves the request to `processing` with its outbox event. Two concurrent calls for one
 * request never both claim: the second waits for the first's row lock, then finds its lease.
 */
export async function claimAttempt(db: Kysely<Database>, id: string, terms: readonly LeaseTerms[], again = true): Promise<Claim> {
  const { rows } = await sql<RequestRow & { claimed: boolean; lease_left_ms: number; max_attempts: number | null }>`
    with clock as (${STATEMENT_CLOCK}), terms as (
      select * from unnest(${terms.map((t) => t.operation)}::text[], ${terms.map((t) => t.leaseMs)}::int8[], ${terms.map((t) => t.maxAttempts)}::int4[])
        as t(operation, lease_ms, max_attempts)
    ), claimed as (
      update idemq.requests r
         set attempts = r.attempts + 1,
             lease_until = clock.t + make_interval(secs => t.lease_ms / 1000.0),
             status = 'processing',
             -- only claims take a leased request out of queued, so attempt 1 is its one observable change
             version = r.version + case when r.attempts = 0 then 1 else 0 end,
             history = case when r.attempts = 0 then ${appendHistory(sql`'processing'`, sql`clock.t`)} else r.history end,
             updated_at = clock.t
        from terms t, clock
       where r.id = ${id} and r.operation = t.operation
         and r.status in ('queued', 'processing')
         and (r.lease_until is null or r.lease_until <= clock.t)
         and r.attempts < t.max_attempts
      returning r.*
    ), event as (${insertStatusEvents('claimed', { where: sql`attempts = 1` })})
    select c.*, true as claimed, 0::float8 as lease_left_ms, null::int4 as max_attempts from claimed c
    union all
    select r.*, false, greatest(0, extract(epoch from r.lease_until - clock.t) * 1000)::float8, t.max_attempts
      from clock, idemq.requests r left join terms t on t.operation = r.operation
     where r.id = ${id} and not exists (select 1 from claimed)`.execute(db);
  const found = rows[0];
  if (!found) return { kind: 'missing' };
  const { claimed, lease_left_ms: leftMs, max_attempts: maxAttempts, ...row } = found;
  if (claimed) return { kind: 'claimed', row };
  if (isTerminal(row.status)) return { kind: 'terminal', row };
  if (maxAttempts === null) return { kind: 'other', operation: row.operation };
  if (leftMs > 0) return { kind: 'leased', leftMs: Math.ceil(leftMs) };
  if (row.attempts >= maxAttempts) return { kind: 'exhausted', row };
  // A concurrent claim won between this statement's snapshot and its row lock: the row read above
  // predates it. A new statement sees the winner's lease.
  return again ? claimAttempt(db, id, terms, false) : { kind: 'leased', leftMs: 0 };
}

/**
 * Stores the outcome of attempt `attempt` as the request's terminal outcome, with its outbox event,
 * in one short transaction, if the request still carries that attempt number and is unfinished.
 * Returns the completed row, or undefined when fenced off (a later attempt took over, or another
 * one finished it first): then nothing was written. `trace`: the trace context its event carries.
 */
export async function completeAttempt(
  db: Kysely<Database>,
  id: string,
  attempt: number,
  outcome: Outcome,
  trace?: TraceCarrier,
): Promise<RequestRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const [row] = await lockRequests(trx, [id]);
    if (!row || isTerminal(row.status) || row.attempts !== attempt) return undefined;
    return (await completeRequests(trx, new Map([[id, outcome]]), trace && new Map([[id, trace]]))).get(id);
  });
}

/**
 * Ends attempt `attempt` without an outcome: its lease is replaced by the earliest time the next
 * attempt may start (the statement's time + `delayMs`). Fenced like completeAttempt; returns false when fenced off.
 */
export async function releaseAttempt(db: Kysely<Database>, id: string, attempt: number, delayMs: number): Promise<boolean> {
  const result = await db
    .updateTable('idemq.requests')
    .set({ lease_until: sql`clock_timestamp() + make_interval(secs => ${delayMs / 1000})`, updated_at: sql`clock_timestamp()` })
    .where('id', '=', id)
    .where('attempts', '=', attempt)
    .where('status', 'in', ['queued', 'processing'])
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
