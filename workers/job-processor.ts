import type { Job } from 'bullmq';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../src/db/database.ts';
import type { RequestJobData } from '../src/queue/request-queue.ts';
import { isTransientError } from '../src/retry-policy.ts';
import { failRequest, processRequest } from './process-request.ts';

export interface JobProcessorDeps {
  db: Kysely<Database>;
  log: Logger;
  /** attempts after which a non-transient failure ends the request as `processing_failed` */
  maxAttempts: number;
  /** called after a commit that wrote outbox events, to wake the relay */
  onCommitted(): void;
}

/**
 * The BullMQ processor. Transient infrastructure errors are rethrown for BullMQ to retry with
 * backoff, never counted against the request. Any other error is retried until `maxAttempts`,
 * then stored as the request's terminal error, which is what replays return from then on.
 */
export function createJobProcessor(deps: JobProcessorDeps) {
  return async (job: Job<RequestJobData>): Promise<string> => {
    const { requestId } = job.data;
    try {
      const result = await processRequest(deps.db, requestId);
      if (result.kind === 'completed') deps.onCommitted();
      return result.kind;
    } catch (err) {
      if (isTransientError(err)) {
        deps.log.warn({ err, requestId, attempt: job.attemptsMade + 1 }, 'transient failure; will retry');
        throw err;
      }
      if (job.attemptsMade + 1 < deps.maxAttempts) {
        deps.log.error({ err, requestId, attempt: job.attemptsMade + 1 }, 'operation failed; will retry');
        throw err;
      }
      deps.log.error({ err, requestId, attempts: job.attemptsMade + 1 }, 'operation failed on its last attempt');
      await failRequest(deps.db, requestId, {
        code: 'processing_failed',
        message: `The operation failed ${deps.maxAttempts} times and will not be retried.`,
      });
      deps.onCommitted();
      return 'failed';
    }
  };
}
