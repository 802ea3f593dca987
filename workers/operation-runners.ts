import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.ts';
import { findOperationOf } from '../src/idempotency/request.repository.ts';
import { findRequestById } from '../src/idempotency/request-admin.repository.ts';
import { isTerminal } from '../src/idempotency/request-view.ts';
import type { Operation, OperationKind } from '../src/operations/operation.ts';
import type { Registry } from '../src/operations/registry.ts';
import type { RequestJobData } from '../src/queue/request-queue.ts';
import type { ProcessResult } from './process-batch.ts';
import { UnknownOperation } from './unknown-operation.ts';

/**
 * What a runner did with one delivery: ProcessResult, or, for a kind whose work takes several
 * attempts (forward), `delayed` (run the job again after `delayMs`) or `fenced` (a later attempt
 * took over; nothing was written).
 */
export type RunResult = ProcessResult | { kind: 'delayed'; delayMs: number } | { kind: 'fenced' };

/**
 * Runs one recorded request of `operation` (found by the dispatcher: the runner looks nothing up),
 * exactly once however often it is delivered, and stores its outcome. Throws for what should be
 * retried (the job processor then applies the retry policy); a stored business failure is a
 * result, not an error.
 */
export type OperationRunner<O extends Operation = Operation> = (requestId: string, operation: O) => Promise<RunResult>;

/**
 * One runner per kind of operation, each given the operations of its kind. The seam for a new
 * kind: add its member to `Operation` (src/operations/operation.ts) and its runner here; the
 * compiler then asks every worker for it, and the transactional runner (createBatchRunner) stays
 * as it is.
 */
export type OperationRunners = { [K in OperationKind]: OperationRunner<Extract<Operation, { kind: K }>> };

/** The runner of `operation`'s kind, given `operation` (a switch, so that each runner sees its own kind's type). */
function run(runners: OperationRunners, requestId: string, operation: Operation): Promise<RunResult> {
  switch (operation.kind) {
    case 'transactional':
      return runners.transactional(requestId, operation);
    case 'forward':
      return runners.forward(requestId, operation);
  }
}

/**
 * The job processor's `run`: finds the job's operation in the registry and hands the request and
 * that operation to the runner of its kind. The operation's name comes with the job; a job without it
 * (added by an earlier release) has it read from the request. An operation this worker does not
 * run throws UnknownOperation (retried until a worker that knows it takes the job), unless its
 * request is finished (an operator failed it) or gone: then the job ends.
 */
export function createDispatcher(db: Kysely<Database>, registry: Registry, runners: OperationRunners) {
  return async (job: RequestJobData): Promise<RunResult> => {
    const name = job.operation ?? (await findOperationOf(db, job.requestId));
    if (name === undefined) return { kind: 'missing' };
    const operation = registry.find(name);
    if (operation) return run(runners, job.requestId, operation);
    const row = await findRequestById(db, job.requestId);
    if (!row) return { kind: 'missing' };
    if (isTerminal(row.status)) return { kind: 'already-terminal', row };
    throw new UnknownOperation(name);
  };
}
