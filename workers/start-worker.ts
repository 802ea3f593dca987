import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.ts';
import type { MigrationSet } from '../src/db/migrator.ts';
import type { Operation } from '../src/operations/operation.ts';
import type { RequestJobData } from '../src/queue/request-queue.ts';
import { warnIfAutovacuumOff } from './autovacuum-check.ts';
import { startPeriodicTask } from './periodic.ts';
import { startPeriodicTasks } from './periodic-tasks.ts';
import { type QueueOwnerWatch, watchQueueOwner } from './queue-owner-watch.ts';
import { settlesWithin } from './settles-within.ts';
import { startShardWorkers } from './shard-workers.ts';
import { warnOfUnknownOperations } from './unknown-operations-check.ts';
import { createWorkerDeps } from './worker-deps.ts';

/** After the jobs are dealt with, how long the last relay pass and closing the connections may take. */
const CLEANUP_MS = 3_000;

export interface WorkerHandle {
  /** one BullMQ worker per queue shard */
  workers: Worker<RequestJobData>[];
  /**
   * Graceful: stops taking jobs and lets in-flight ones finish for up to SHUTDOWN_TIMEOUT_MS;
   * jobs still running then are moved back to `wait` at once, for another worker to take
   * (a late finish here is fenced by the request's row lock). Resolves within
   * SHUTDOWN_TIMEOUT_MS + 4 s even if Postgres or Redis is away.
   */
  close(): Promise<void>;
}

export interface WorkerOptions {
  /**
   * the operations this worker runs, its forward routes included (loadProcessConfig); a request of
   * any other waits for a worker that runs it
   */
  operations: readonly Operation[];
  /** the app's migrations, which the database must have run (with the core's) before the worker starts */
  migrations?: readonly MigrationSet[];
}

/**
 * Starts everything a worker process runs: its connections (createWorkerDeps), the periodic tasks
 * (outbox relay, reconciler, queue-shards census, expiry sweep), the BullMQ workers, and the watch
 * on QUEUE_PREFIX's owner; its metrics server if WORKER_METRICS_PORT is set. Any number of worker
 * processes may run; each part is safe to run concurrently. Refuses (throws) if the database lacks
 * a migration this code knows, the core's or the app's, or if two operations share a name or a route.
 */
export async function startWorker(config: Config, log: Logger, options: WorkerOptions): Promise<WorkerHandle> {
  const { deps, close: closeDeps } = await createWorkerDeps(config, log, options);
  warnIfAutovacuumOff(deps.db, log);
  void warnOfUnknownOperations(deps.db, (name) => deps.registry.find(name) !== undefined, log);
  // set once the BullMQ workers exist, which it pauses
  let owner: QueueOwnerWatch | undefined;
  const tasks = startPeriodicTasks(deps, { foreignQueues: () => owner?.foreign ?? false });
  const shards = startShardWorkers(deps, { onCommitted: tasks.nudgeRelay });
  owner = watchQueueOwner({
    redis: deps.publisher,
    queuePrefix: config.queuePrefix,
    deploymentId: deps.deploymentId,
    workers: shards.workers,
    log,
    onConflict: () => deps.metrics.queuePrefixConflicts.inc(),
  });
  const ownerWatch = startPeriodicTask('queue-owner', config.reconcileIntervalMs, owner.check, log);

  const close = async () => {
    // first, so that no check resumes a worker that is closing
    await settlesWithin(ownerWatch.stop(), 1_000);
    const { stopped } = await shards.close(config.shutdownTimeoutMs);
    const cleanedUp = settlesWithin(
      (async () => {
        await tasks.stop();
        await closeDeps(stopped);
      })(),
      CLEANUP_MS,
    );
    // with Postgres or Redis away, or an abandoned job still holding a pooled client, this can hang
    if (!(await cleanedUp)) log.warn('connections did not close in time; the process exit ends them');
  };
  let closing: Promise<void> | undefined;
  return {
    workers: shards.workers,
    close: () => (closing ??= close()),
  };
}
