import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database, StatusEvent } from '../db/database.ts';
import type { TraceCarrier } from '../tracing/spans.ts';

/** Every statement on idemq.outbox: the events a change writes, the relay's claim, the backlog. */

export interface StatusEventsOptions {
  /** only the rows that match (the source's columns, unqualified) */
  where?: RawBuilder<boolean>;
  /**
   * all the statement's events in one outbox row, of no request: a batch costs the outbox one
   * insert and one delete, however many events it holds
   */
  oneRow?: boolean;
  /**
   * the source's rows were deleted: each event is marked `deleted`, with a version one past the
   * row's, and goes in one row of no request (as with oneRow), so it outlives the deleted request
   */
  deleted?: boolean;
  /** the trace context each request's event carries to the API that pushes it (tracing on) */
  traces?: ReadonlyMap<string, TraceCarrier>;
}

/**
 * The outbox write of one statement, for a CTE of it: one status event (requestId, tenantId,
 * status, version) per row of the CTE `source` (a data-modifying CTE that returns those columns),
 * inserted by the same statement, so a change and its event commit together or not at all. Every
 * statement that writes an event writes it with this fragment. Nothing is inserted for a CTE
 * without rows.
 */
export function insertStatusEvents(source: string, opts: StatusEventsOptions = {}): RawBuilder<unknown> {
  const traced = opts.traces && opts.traces.size > 0 ? [...opts.traces] : undefined;
  const version = opts.deleted ? sql`'version', c.version + 1, 'deleted', true` : sql`'version', c.version`;
  const trace = traced ? sql` || coalesce(jsonb_build_object('trace', t.trace), '{}')` : sql``;
  const event = sql`jsonb_build_object('requestId', c.id, 'tenantId', c.tenant_id, 'status', c.status, ${version})${trace}`;
  const traces = traced
    ? sql` left join unnest(${traced.map(([id]) => id)}::uuid[], ${traced.map(([, t]) => JSON.stringify(t))}::jsonb[]) as t(id, trace) on t.id = c.id`
    : sql``;
  const rows = sql`from ${sql.table(source)} c${traces}${opts.where ? sql` where ${opts.where}` : sql``}`;
  // an outbox row of a request is deleted with it (cascade); a row of no request outlives it
  return opts.oneRow || opts.deleted
    ? sql`insert into idemq.outbox (payload) select jsonb_agg(${event}) ${rows} having count(*) > 0`
    : sql`insert into idemq.outbox (request_id, payload) select c.id, ${event} ${rows}`;
}

/**
 * The most events one published message carries: a relay catching up on a backlog of batch rows
 * claims many thousands of events at once, and one message of them all would hold up every
 * subscriber's connection while it is parsed.
 */
export const RELAY_MESSAGE_EVENTS = 1_000;

/**
 * Claims up to `limit` outbox rows (each one event, or a batch's events), oldest first, deletes
 * them, and hands their events to `publish` (in messages of at most RELAY_MESSAGE_EVENTS) before
 * the transaction commits. Rows another relay holds are skipped, never waited for. If `publish`
 * throws or the process dies before the commit, the rows stay and are published again: delivery
 * is at least once.
 * Returns how many events were published (at least as many as the rows claimed).
 */
export async function relayOutboxBatch(
  db: Kysely<Database>,
  limit: number,
  publish: (events: StatusEvent[]) => Promise<void>,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    // claims and deletes in one statement; a rollback (publish failed, the process died) restores them
    const { rows } = await sql<{ id: number; payload: StatusEvent | StatusEvent[] }>`
      delete from idemq.outbox where id in (
        select id from idemq.outbox order by id limit ${limit} for update skip locked
      ) returning id, payload`.execute(trx);
    if (rows.length === 0) return 0;
    const events = rows.sort((a, b) => a.id - b.id).flatMap((r) => r.payload);
    for (let i = 0; i < events.length; i += RELAY_MESSAGE_EVENTS) await publish(events.slice(i, i + RELAY_MESSAGE_EVENTS));
    return events.length;
  });
}

/** How many events the outbox holds (a row holds one, or a batch's as an array), as a select item. */
const EVENT_COUNT = sql<string>`coalesce(sum(case jsonb_typeof(payload) when 'array' then jsonb_array_length(payload) else 1 end), 0)`;

/** How many events wait in the outbox for the relay. */
export async function countOutboxEvents(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ events: string }>`select ${EVENT_COUNT} as events from idemq.outbox`.execute(db);
  return Number(rows[0]?.events ?? 0);
}

/** The relay's backlog: how many events wait, and the age in seconds of the oldest row (0 when there is none). */
export async function readOutboxBacklog(db: Kysely<Database>): Promise<{ events: number; age: number }> {
  const { rows } = await sql<{ events: string; age: number | null }>`select ${EVENT_COUNT} as events,
    extract(epoch from now() - min(created_at))::float8 as age from idemq.outbox`.execute(db);
  return { events: Number(rows[0]?.events ?? 0), age: Math.max(0, rows[0]?.age ?? 0) };
}
