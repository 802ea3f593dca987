import type { Transaction } from 'kysely';
import type { Static, TSchema } from 'typebox';
import type { Database } from '../db/database.ts';
import type { JsonShapeLimits } from '../json/json-shape.ts';
import type { ForwardRoute } from './forward/forward-route.ts';

export interface OperationContext {
  tenantId: string;
  /** the idempotency record this run completes; unique, so usable as a natural key for effects */
  requestId: string;
}

/**
 * The submit side of an operation, whatever runs it: all the API needs to record a request under
 * its Idempotency-Key and answer replays and mismatches. Every kind of operation has these fields,
 * so the submit path, the OpenAPI document and the idempotency contract know no kind.
 */
export interface OperationSpec<S extends TSchema = TSchema> {
  /** stable name stored with each request, e.g. `payments.create` */
  name: string;
  /** the POST route that submits it, e.g. `/v1/payments` */
  route: string;
  summary: string;
  /** the request body; the worker checks a stored payload against it again before running it */
  input: S;
  /** what a succeeded request's `result` holds; documented in the OpenAPI document when given */
  output?: TSchema;
  /** this route's JSON body limits (depth, values), in place of MAX_BODY_DEPTH and MAX_BODY_NODES */
  jsonLimits?: Partial<JsonShapeLimits>;
}

/**
 * An operation run by the worker inside the transaction that also completes the request, after the
 * request row is locked: its writes commit exactly once with the completion, or not at all.
 * `DB` is the app's Database interface (its own tables, in its own schema): `handle` sees the
 * core's transaction typed as the app's (see appTransaction).
 * Throw BusinessError for an expected, permanent refusal (stored as the request's error; its writes
 * are rolled back). Any other error is retried.
 */
export interface TransactionalOperation<S extends TSchema = TSchema, DB = unknown> extends OperationSpec<S> {
  readonly kind: 'transactional';
  handle(trx: Transaction<DB>, ctx: OperationContext, input: Static<S>): Promise<unknown>;
  /**
   * Optional, for throughput: workers run many requests in one transaction, one after the other.
   * If `handle` locks shared rows (accounts), lock all the rows a batch will need here, in one
   * global order, so two batches never deadlock. Must not throw for a single bad input: skip it
   * (its own `handle` will refuse it).
   */
  lockForBatch?(trx: Transaction<DB>, inputs: Static<S>[]): Promise<void>;
  /**
   * Optional, for throughput: runs a whole batch of requests, in order, in one go (one round trip
   * instead of one per request), after lockForBatch. Returns each call's result, or the
   * BusinessError that refused it, in call order; a refused call must have written nothing. Throws
   * if anything else went wrong: the caller then rolls the batch back and runs `handle` for each call.
   */
  handleBatch?(trx: Transaction<DB>, calls: { ctx: OperationContext; input: Static<S> }[]): Promise<unknown[]>;
}

/**
 * An operation run by the worker outside any transaction: its body is sent to an upstream service
 * (a forward route of FORWARD_ROUTES_FILE), one attempt at a time, each fenced by a lease in the
 * request row, and the upstream's answer decides the outcome (workers/forward-runner.ts).
 */
export interface ForwardOperation extends OperationSpec {
  readonly kind: 'forward';
  readonly forward: ForwardRoute;
}

/**
 * Any operation the core can run, one member per kind. The worker's job processor dispatches on
 * `kind` to that kind's runner (workers/operation-runners.ts); the API sees only the OperationSpec.
 * A new kind is a new member here with its own runner; the transactional path does not change.
 * (`any`: a list holds operations of many input schemas and app databases; each runner recovers
 * the input's type by checking the stored payload against `input`.)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds operations of every input and output type
export type Operation = TransactionalOperation<any, any> | ForwardOperation;

export type OperationKind = Operation['kind'];

/** What an app passes to defineOperation: a transactional operation without its `kind`. */
export type TransactionalDefinition<S extends TSchema, DB> = Omit<TransactionalOperation<S, DB>, 'kind'> & { kind?: 'transactional' };

/**
 * Defines a transactional operation; keeps the input type of `handle` tied to the schema, and the
 * transaction's to the app's Database when `handle`'s first parameter is annotated
 * (`handle(trx: Transaction<MyDatabase>, ctx, input)`).
 */
export function defineOperation<S extends TSchema, DB = unknown>(op: TransactionalDefinition<S, DB>): TransactionalOperation<S, DB> {
  return { ...op, kind: 'transactional' };
}

/**
 * The core's transaction as an app's operation sees it. The one place where the core's Database
 * widens to an app's: both live in the same Postgres database and the transaction is the same
 * connection; the type only decides which table names the query builder accepts, and each app
 * names its own (schema-qualified) tables.
 */
export function appTransaction<DB>(trx: Transaction<Database>): Transaction<DB> {
  return trx as unknown as Transaction<DB>;
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
