import type { Transaction } from 'kysely';
import type { Static, TSchema } from 'typebox';
import type { Database } from '../db/database.ts';

export interface OperationContext {
  tenantId: string;
  /** the idempotency record this run completes; unique, so usable as a natural key for effects */
  requestId: string;
}

/**
 * A business operation. `handle` runs inside the transaction that also completes the request,
 * after the request row is locked: its writes commit exactly once with the completion, or not at all.
 * Throw BusinessError for an expected, permanent refusal (stored as the request's error; its writes
 * are rolled back). Any other error is retried.
 */
export interface Operation<S extends TSchema = TSchema> {
  /** stable name stored with each request, e.g. `payments.create` */
  name: string;
  /** the POST route that submits it, e.g. `/v1/payments` */
  route: string;
  summary: string;
  input: S;
  handle(trx: Transaction<Database>, ctx: OperationContext, input: Static<S>): Promise<unknown>;
  /**
   * Optional, for throughput: workers run many requests in one transaction, one after the other.
   * If `handle` locks shared rows (accounts), lock all the rows a batch will need here, in one
   * global order, so two batches never deadlock. Must not throw for a single bad input: skip it
   * (its own `handle` will refuse it).
   */
  lockForBatch?(trx: Transaction<Database>, inputs: Static<S>[]): Promise<void>;
  /**
   * Optional, for throughput: runs a whole batch of requests, in order, in one go (one round trip
   * instead of one per request), after lockForBatch. Returns each call's result, or the
   * BusinessError that refused it, in call order; a refused call must have written nothing. Throws
   * if anything else went wrong: the caller then rolls the batch back and runs `handle` for each call.
   */
  handleBatch?(trx: Transaction<Database>, calls: { ctx: OperationContext; input: Static<S> }[]): Promise<unknown[]>;
}

/** Keeps the input type of `handle` tied to the schema. */
export function defineOperation<S extends TSchema>(op: Operation<S>): Operation<S> {
  return op;
}

/** A permanent, expected failure of an operation: stored as `{ code, message }`, never retried. */
export class BusinessError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'BusinessError';
    this.code = code;
  }
}
