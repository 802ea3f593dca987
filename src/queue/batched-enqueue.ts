import DataLoader from 'dataloader';
import { createBatchScheduler } from '../batch-scheduler.ts';
import { enqueueRequests, type QueuedRequest, type RequestQueues } from './request-queue.ts';

/**
 * Enqueues through `addBulk`, gathering the calls that overlap into one Redis pipeline. `addBulk`
 * is not atomic: a batch that fails part-way leaves some jobs unadded, and every caller of that
 * batch sees the failure; the reconciler adds whatever is missing, under the same job ids.
 */
export function createBatchedEnqueue(queue: RequestQueues, opts: { maxBatchSize: number; maxConcurrentBatches: number }) {
  const schedule = createBatchScheduler(opts.maxConcurrentBatches);
  const loader = new DataLoader<QueuedRequest, true>(
    (ids) =>
      schedule.run(async () => {
        await enqueueRequests(queue, ids);
        return ids.map(() => true as const);
      }),
    { cache: false, maxBatchSize: opts.maxBatchSize, batchScheduleFn: schedule.wait },
  );
  return async (requests: readonly QueuedRequest[]): Promise<void> => {
    const results = await loader.loadMany(requests);
    const failed = results.find((r) => r instanceof Error);
    if (failed) throw failed;
  };
}
