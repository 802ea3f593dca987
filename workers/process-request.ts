import { type Kysely, sql } from 'kysely';
import type { Database, RequestError, RequestRow } from '../src/db/database.ts';
import { completeRequest, markProcessing, type Outcome } from '../src/idempotency/complete-request.ts';
import { lockRequest } from '../src/idempotency/request.repository.ts';
import { isTerminal } from '../src/idempotency/request-view.ts';
import { BusinessError } from '../src/operations/operation.ts';
import { findOperation } from '../src/operations/registry.ts';

export type ProcessResult =
  | { kind: 'completed'; row: RequestRow }
  /** a second delivery: the first already committed; nothing was written */
  | { kind: 'already-terminal'; row: RequestRow }
  /** the record expired and was deleted before its job ran */
  | { kind: 'missing' };

/**
 * Runs one request exactly once, however often it is delivered. The request row is locked
 * (FOR UPDATE) in the transaction that runs the operation and stores the outcome, so concurrent or
 * repeated deliveries serialise on it and all but the first find it terminal and commit nothing.
 * Business failures are stored as the outcome; any other error propagates (the caller retries).
 */
export async function processRequest(db: Kysely<Database>, requestId: string): Promise<ProcessResult> {
  // Observable `processing` state; a no-op on a redelivery, which the locked check below settles.
  await markProcessing(db, requestId);
  return db.transaction().execute(async (trx): Promise<ProcessResult> => {
    const row = await lockRequest(trx, requestId);
    if (!row) return { kind: 'missing' };
    if (isTerminal(row.status)) return { kind: 'already-terminal', row };
    const operation = findOperation(row.operation);
    let outcome: Outcome;
    if (!operation) {
      outcome = { ok: false, error: { code: 'unknown_operation', message: `This service no longer runs ${row.operation}.` } };
    } else {
      // A business refusal rolls back whatever the operation wrote, but not the stored outcome.
      await sql`savepoint operation`.execute(trx);
      try {
        outcome = { ok: true, result: await operation.handle(trx, { tenantId: row.tenant_id, requestId: row.id }, row.payload as never) };
      } catch (err) {
        if (!(err instanceof BusinessError)) throw err;
        await sql`rollback to savepoint operation`.execute(trx);
        outcome = { ok: false, error: { code: err.code, message: err.message } };
      }
    }
    return { kind: 'completed', row: await completeRequest(trx, row, outcome) };
  });
}

/** Ends an unfinished request as failed (after its attempts ran out); a no-op on a terminal one. */
export async function failRequest(db: Kysely<Database>, requestId: string, error: RequestError): Promise<RequestRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await lockRequest(trx, requestId);
    if (!row || isTerminal(row.status)) return row;
    return completeRequest(trx, row, { ok: false, error });
  });
}
