import type { Queue } from 'bullmq';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../src/db/database.ts';
import { enqueueRequests, jobIdFor, type RequestJobData } from '../src/queue/request-queue.ts';

export const RECONCILE_BATCH_SIZE = 1_000;

/**
 * Postgres is the truth, Redis may forget: finds requests that are unfinished and untouched for
 * `olderThanMs`, and makes sure each has a live job. A job that is missing (Redis lost it, or the
 * API died before enqueueing) is added again under the same derived id; one that ended without
 * finishing the request (its retries ran out during an outage) is removed first, because `add` of
 * an id that still exists is silently ignored. A job that is waiting, delayed or active is left alone.
 * Safe to run in any number of processes at once: a duplicate add is a no-op and processing is fenced.
 */
export async function reconcileOnce(
  db: Kysely<Database>,
  queue: Queue<RequestJobData>,
  olderThanMs: number,
  batchSize = RECONCILE_BATCH_SIZE,
): Promise<{ more: boolean; checked: number; enqueued: number }> {
  const rows = await db
    .selectFrom('requests')
    .select('id')
    .where('status', 'in', ['queued', 'processing'])
    .where('updated_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .orderBy('updated_at')
    .limit(batchSize)
    .execute();
  const lost: string[] = [];
  for (const { id } of rows) {
    const state = await queue.getJobState(jobIdFor(id));
    if (state === 'completed' || state === 'failed') await queue.remove(jobIdFor(id));
    if (state === 'completed' || state === 'failed' || state === 'unknown') lost.push(id);
  }
  await enqueueRequests(queue, lost);
  // only a batch full of lost jobs suggests more are waiting; live ones will finish by themselves
  return { more: lost.length === batchSize, checked: rows.length, enqueued: lost.length };
}
