import type { Kysely } from 'kysely';
import type { Database, RequestError, RequestRow } from '../src/db/database.ts';
import { completeRequests } from '../src/idempotency/complete-request.ts';
import { lockRequests } from '../src/idempotency/request.repository.ts';
import { isTerminal } from '../src/idempotency/request-view.ts';
import type { FindOperation } from '../src/operations/registry.ts';
import { type ProcessResult, processRequests } from './process-batch.ts';

export type { ProcessResult } from './process-batch.ts';

/**
 * Runs one request exactly once, however often it is delivered (processRequests with a batch of
 * one). Business failures are stored as the outcome; any other error is thrown (the caller retries).
 */
export async function processRequest(db: Kysely<Database>, requestId: string, find: FindOperation): Promise<ProcessResult> {
  const [result] = await processRequests(db, [requestId], find);
  if (result instanceof Error) throw result;
  return result!;
}

/** Ends an unfinished request as failed (after its attempts ran out); a no-op on a terminal one. */
export async function failRequest(db: Kysely<Database>, requestId: string, error: RequestError): Promise<RequestRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const [row] = await lockRequests(trx, [requestId]);
    if (!row || isTerminal(row.status)) return row;
    return (await completeRequests(trx, new Map([[row.id, { ok: false, error }]]))).get(row.id);
  });
}
