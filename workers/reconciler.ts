import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.ts';
import { findUnfinishedPage } from '../src/idempotency/request-maintenance.repository.ts';
import { enqueueRequests, type QueuedRequest, type RequestQueues } from '../src/queue/request-queue.ts';

export const RECONCILE_BATCH_SIZE = 1_000;

/** Where the previous page of a pass ended: `(updated_at, id)` of its last row, as Postgres wrote them. */
export interface ReconcileCursor {
  updatedAt: string;
  id: string;
}

export interface ReconcileResult {
  /** go again at once: the page was full and held lost jobs, so more are probably lost */
  more: boolean;
  checked: number;
  enqueued: number;
  /** where the next call continues; undefined once a pass reached the end */
  next: ReconcileCursor | undefined;
}

/**
 * Postgres is the truth, Redis may forget: checks one page of requests that are unfinished and
 * untouched for `olderThanMs`, and makes sure each has a live job. A job that is missing (Redis
 * lost it, or the API died before enqueueing) is added again under the same derived id; one that
 * ended without finishing the request (its attempts or stalls ran out) is removed first, because
 * `add` of an id that still exists is silently ignored. Waiting, delayed and active jobs are left
 * alone: a dead worker's active job is the stalled-job check's to resume.
 *
 * Pages follow `(updated_at, id)` from `after`, so a pass reaches every unfinished request even
 * when the oldest ones have live jobs; pass the returned `next` to continue.
 * Safe to run in any number of processes at once: a duplicate add is a no-op and processing is fenced.
 */
export async function reconcileOnce(
  db: Kysely<Database>,
  queues: RequestQueues,
  olderThanMs: number,
  opts: { batchSize?: number; after?: ReconcileCursor } = {},
): Promise<ReconcileResult> {
  const { batchSize = RECONCILE_BATCH_SIZE, after } = opts;
  const rows = await findUnfinishedPage(db, { olderThanMs, limit: batchSize, after });
  // One read of the job's hash per row, all in flight at once: O(1) each, where getJobState
  // searches the wait and active lists and would cost O(backlog) per row during a backlog.
  const jobs = await Promise.all(rows.map(({ id }) => queues.getJob(id)));
  const lost: QueuedRequest[] = [];
  for (const [i, { id, operation }] of rows.entries()) {
    const job = jobs[i];
    // finishedOn: completed or failed; the request being unfinished means the job gave up on it
    if (job?.finishedOn) await queues.removeJob(id);
    if (!job || job.finishedOn) lost.push({ id, operation });
  }
  await enqueueRequests(queues, lost);
  const last = rows.at(-1);
  const full = rows.length === batchSize;
  return {
    more: full && lost.length > 0,
    checked: rows.length,
    enqueued: lost.length,
    next: full && last ? { updatedAt: last.updated_at, id: last.id } : undefined,
  };
}
