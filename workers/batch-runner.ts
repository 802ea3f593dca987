import { type Context, context } from '@opentelemetry/api';
import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import { createBatchScheduler } from '../src/batch-scheduler.ts';
import type { Database } from '../src/db/database.ts';
import type { Operation, TransactionalOperation } from '../src/operations/operation.ts';
import { isTransientError } from '../src/retry-policy.ts';
import { startBatchSpans } from './batch-spans.ts';
import { MAX_BATCH_SIZE, type ProcessResult, processRequests } from './process-batch.ts';

/**
 * Gathers the jobs a worker runs at the same time into batches of one transaction each
 * (processRequests). A batch that fails as a whole for a transient reason fails every request in
 * it (each is retried by BullMQ); one that fails for any other reason may be one request's fault,
 * so its requests are run again one by one, and only the guilty one fails. The runner of
 * transactional operations (see operation-runners.ts): each request comes with its operation, and a
 * batch runs the operations its requests came with. With tracing on, each request's trace (its
 * job's span) gets a span for the transaction it ran in, and its outbox events carry that span.
 */
export function createBatchRunner(
  db: Kysely<Database>,
  opts: { maxConcurrentBatches: number; maxBatchSize?: number; onBatch?: (size: number) => void },
) {
  const schedule = createBatchScheduler(opts.maxConcurrentBatches);
  const loader = new DataLoader<{ id: string; ctx: Context; operation: TransactionalOperation<any, any> }, ProcessResult>(
    (keys) =>
      schedule.run(async () => {
        opts.onBatch?.(keys.length);
        const ids = keys.map((k) => k.id);
        const operations = new Map<string, Operation>(keys.map((k) => [k.operation.name, k.operation]));
        const find = (name: string) => operations.get(name);
        const spans = startBatchSpans(keys);
        try {
          const results = await processRequests(db, ids, find, spans.traces).catch(async (err: unknown) => {
            if (ids.length === 1 || isTransientError(err)) throw err;
            return Promise.all(
              ids.map((id) =>
                processRequests(db, [id], find, spans.traces).then(
                  (r) => r[0]!,
                  (e: Error) => e,
                ),
              ),
            );
          });
          spans.end({ results });
          return results;
        } catch (err) {
          spans.end({ error: err });
          throw err;
        }
      }),
    { cache: false, maxBatchSize: Math.min(opts.maxBatchSize ?? MAX_BATCH_SIZE, MAX_BATCH_SIZE), batchScheduleFn: schedule.wait },
  );
  return (requestId: string, operation: TransactionalOperation<any, any>): Promise<ProcessResult> =>
    loader.load({ id: requestId, ctx: context.active(), operation });
}
