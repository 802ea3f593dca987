import { sql, type Transaction } from 'kysely';
import type { Database, RequestError, RequestRow, RequestStatus } from '../db/database.ts';
import { appendStatusEvent } from '../outbox/outbox.repository.ts';

export type Outcome = { ok: true; result: unknown } | { ok: false; error: RequestError };

async function transition(
  trx: Transaction<Database>,
  id: string,
  status: RequestStatus,
  fields: { result?: string; error?: string } = {},
): Promise<RequestRow> {
  const row = await trx
    .updateTable('requests')
    .set({ status, ...fields, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await appendStatusEvent(trx, row);
  return row;
}

/** Moves a locked, queued request to `processing`, with its outbox event. */
export function markProcessing(trx: Transaction<Database>, locked: RequestRow): Promise<RequestRow> {
  return transition(trx, locked.id, 'processing');
}

/**
 * Stores the terminal outcome of a locked request, with its outbox event, in the caller's
 * transaction: the same one that committed the business effect. The caller must hold the row lock
 * (lockRequest) and have checked that the request is not terminal yet.
 */
export function completeRequest(trx: Transaction<Database>, locked: RequestRow, outcome: Outcome): Promise<RequestRow> {
  return outcome.ok
    ? transition(trx, locked.id, 'succeeded', { result: JSON.stringify(outcome.result ?? null) })
    : transition(trx, locked.id, 'failed', { error: JSON.stringify(outcome.error) });
}
