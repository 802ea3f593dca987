import { DelayedError, type Job } from 'bullmq';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../src/db/database.ts';
import { failRequest } from '../src/idempotency/request-completion.repository.ts';
import { PROCESSING_FAILED } from '../src/operations/error-codes.ts';
import type { RequestJobData } from '../src/queue/request-queue.ts';
import { isTransientError } from '../src/retry-policy.ts';
import type { RunResult } from './operation-runners.ts';
import { UnknownOperation } from './unknown-operation.ts';
import type { CompletedRun } from './stage-timings.ts';
import type { RetryCause } from './worker-metrics.ts';

export interface JobProcessorDeps {
  db: Kysely<Database>;
  log: Logger;
  /** attempts after which a non-transient failure ends the request as `processing_failed` */
  maxAttempts: number;
  /**
   * runs the job's request exactly once: the dispatcher to the runner of its operation's kind
   * (operation-runners.ts); a forwarded request's runner may ask to be run again later (`delayed`)
   */
  run(job: RequestJobData): Promise<RunResult>;
  /** called after a commit that wrote outbox events, to wake the relay */
  onCommitted(): void;
  /** called when a run committed its request's outcome, before onCommitted (for the stage timings) */
  onCompleted?(run: CompletedRun): void;
  /** called each time a request waits for a worker that knows its operation (for a metric) */
  onUnknownOperation?(operation: string): void;
  /** called each time a run is handed back to BullMQ to run again, with why (for a metric) */
  onRetry?(cause: RetryCause): void;
  /** called each time a request is stored as `processing_failed` (for a metric) */
  onProcessingFailed?(): void;
}

/**
 * The job's data as the processor keeps it: BullMQ's `attemptsMade` also counts transient
 * failures, so the failures that count against MAX_ATTEMPTS are kept here, with the job.
 */
export interface ProcessJobData extends RequestJobData {
  /** non-transient failures so far (absent: none) */
  failures?: number;
}

/**
 * The BullMQ processor. Transient infrastructure errors (retry-policy.ts) are rethrown for BullMQ
 * to retry with backoff and never count against the request. Any other error is retried until it
 * has happened `maxAttempts` times, then stored as the request's terminal error
 * (`processing_failed`), which is what replays return from then on; the job itself completes.
 * A request whose operation this worker does not know (UnknownOperation) is neither: the job is
 * retried with backoff, without limit and without counting, until a worker that knows it takes it.
 * The count lives with the job, so a job re-added by the reconciler (Redis lost it) starts again.
 * A `delayed` result moves the job to BullMQ's delayed set until then, without counting a failure.
 */
export function createJobProcessor(deps: JobProcessorDeps) {
  return async (job: Job<ProcessJobData>, token?: string): Promise<string> => {
    const { requestId } = job.data;
    const takenAt = Date.now();
    let result: RunResult;
    try {
      result = await deps.run(job.data);
    } catch (err) {
      if (err instanceof UnknownOperation) {
        deps.log.warn(
          { requestId, operation: err.operation, attempt: job.attemptsMade + 1 },
          'operation unknown to this worker (deployed ahead of it?); will retry',
        );
        deps.onUnknownOperation?.(err.operation);
        deps.onRetry?.('unknown_operation');
        throw err;
      }
      if (isTransientError(err)) {
        deps.log.warn({ err, requestId, attempt: job.attemptsMade + 1 }, 'transient failure; will retry');
        deps.onRetry?.('transient');
        throw err;
      }
      const failures = (job.data.failures ?? 0) + 1;
      if (failures < deps.maxAttempts) {
        deps.log.error({ err, requestId, failures }, 'operation failed; will retry');
        // if this write fails (Redis away) the attempt is simply not counted: retries stay bounded by the job's attempts
        await job.updateData({ ...job.data, failures });
        deps.onRetry?.('failure');
        throw err;
      }
      deps.log.error({ err, requestId, failures }, 'operation failed on its last attempt');
      await failRequest(deps.db, requestId, {
        code: PROCESSING_FAILED,
        message: `The operation failed ${failures} times and will not be retried.`,
      });
      deps.onCommitted();
      deps.onProcessingFailed?.();
      return 'failed';
    }
    if (result.kind === 'completed') {
      deps.onCompleted?.({ requestId, acceptedAt: job.data.acceptedAt, enqueuedAt: job.timestamp, takenAt, committedAt: Date.now() });
    }
    // a forwarded request's claim may have written an event even when it only delays
    if (result.kind === 'completed' || result.kind === 'delayed') deps.onCommitted();
    if (result.kind === 'delayed') {
      await job.moveToDelayed(Date.now() + result.delayMs, token);
      throw new DelayedError();
    }
    return result.kind;
  };
}
