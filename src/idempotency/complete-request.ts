import { type Kysely, sql } from 'kysely';
import type { Database, RequestError, RequestRow, RequestStatus } from '../db/database.ts';

export type Outcome = { ok: true; result: unknown } | { ok: false; error: RequestError };

/**
 * One statement: changes the status, bumps the version and appends the outbox event, so the
 * change and its event commit together (or not at all) in the caller's transaction.
 * `onlyFrom` makes the change conditional on the current status; undefined when it did not apply.
 */
async function transition(
  db: Kysely<Database>,
  id: string,
  status: RequestStatus,
  fields: { result?: string; error?: string } = {},
  onlyFrom?: RequestStatus,
): Promise<RequestRow | undefined> {
  return db
    .with('changed', (qb) =>
      qb
        .updateTable('requests')
        .set({ status, ...fields, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .$if(onlyFrom !== undefined, (q) => q.where('status', '=', onlyFrom!))
        .returningAll(),
    )
    .with('event', (qb) =>
      qb.insertInto('outbox').columns(['request_id', 'payload']).expression((eb) =>
        eb
          .selectFrom('changed')
          .select([
            'changed.id',
            sql<string>`jsonb_build_object('requestId', changed.id, 'tenantId', changed.tenant_id, 'status', changed.status, 'version', changed.version)`.as('payload'),
          ]),
      ),
    )
    .selectFrom('changed')
    .selectAll()
    .executeTakeFirst();
}

/**
 * Moves a queued request to `processing`, with its outbox event, in one autocommitted statement.
 * Returns undefined when the request is not queued (already started, finished or gone).
 */
export function markProcessing(db: Kysely<Database>, id: string): Promise<RequestRow | undefined> {
  return transition(db, id, 'processing', {}, 'queued');
}

/**
 * Stores the terminal outcome of a locked request, with its outbox event, in the caller's
 * transaction: the same one that committed the business effect. The caller must hold the row lock
 * (lockRequest) and have checked that the request is not terminal yet.
 */
export async function completeRequest(db: Kysely<Database>, locked: RequestRow, outcome: Outcome): Promise<RequestRow> {
  const row = outcome.ok
    ? await transition(db, locked.id, 'succeeded', { result: JSON.stringify(outcome.result ?? null) })
    : await transition(db, locked.id, 'failed', { error: JSON.stringify(outcome.error) });
  if (!row) throw new Error(`request ${locked.id} vanished while locked`);
  return row;
}
