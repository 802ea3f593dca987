import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import { createBatchScheduler } from '../src/batch-scheduler.ts';
import type { Database } from '../src/db/database.ts';
import type { FindOperation } from '../src/operations/registry.ts';
import { isTransientError } from '../src/retry-policy.ts';
import { MAX_BATCH_SIZE, type ProcessResult, processRequests } from './process-batch.ts';

/**
 * Gathers the jobs a worker runs at the same time into batches of one transaction each
 * (processRequests). A batch that fails as a whole for a transient reason fails every request in
 * it (each is retried by BullMQ); one that fails for any other reason may be one request's fault,
 * so its requests are run again one by one, and only the guilty one fails. The runner of
 * transactional operations (see operation-runners.ts).
 */
export function createBatchRunner(
  db: Kysely<Database>,
  opts: { maxConcurrentBatches: number; maxBatchSize?: number; findOperation: FindOperation; onBatch?: (size: number) => void },
) {
  const find = opts.findOperation;
  const schedule = createBatchScheduler(opts.maxConcurrentBatches);
  const loader = new DataLoader<string, ProcessResult>(
    (ids) =>
      schedule.run(async () => {
        opts.onBatch?.(ids.length);
        try {
          return await processRequests(db, ids, find);
        } catch (err) {
          if (ids.length === 1 || isTransientError(err)) throw err;
          return Promise.all(ids.map((id) => processRequests(db, [id], find).then((r) => r[0]!, (e: Error) => e)));
        }
      }),
    { cache: false, maxBatchSize: Math.min(opts.maxBatchSize ?? MAX_BATCH_SIZE, MAX_BATCH_SIZE), batchScheduleFn: schedule.wait },
  );
  return (requestId: string): Promise<ProcessResult> => loader.load(requestId);
}
