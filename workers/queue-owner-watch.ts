import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { claimQueuePrefix, foreignOwnerProblem } from '../src/queue/queue-owner.ts';
import type { RedisClient } from '../src/redis.ts';

export interface QueueOwnerWatch {
  /** true while another deployment owns the prefix: the reconciler then adds nothing there */
  readonly foreign: boolean;
  /** one check: claims the prefix if free; pauses the workers when it is another's, resumes them when it is ours again */
  check(): Promise<{ more: false }>;
}

/**
 * Keeps a worker off another deployment's jobs after start: Redis may lose its data, and the claim
 * with it, and another deployment may then claim the shared prefix first. While the prefix is
 * another's, the BullMQ workers are paused (no job of either deployment is taken or completed
 * here, so none is lost) and each check logs an error and calls `onConflict` (a metric).
 */
export function watchQueueOwner(deps: {
  redis: RedisClient;
  queuePrefix: string;
  deploymentId: string;
  workers: readonly Pick<Worker, 'pause' | 'resume'>[];
  log: Logger;
  onConflict(): void;
}): QueueOwnerWatch {
  let foreign = false;
  return {
    get foreign() {
      return foreign;
    },
    async check() {
      const result = await claimQueuePrefix(deps.redis, deps.queuePrefix, deps.deploymentId);
      if (result.kind === 'foreign') {
        deps.onConflict();
        deps.log.error(foreignOwnerProblem(deps.queuePrefix, result.owner, deps.deploymentId));
        if (!foreign) await Promise.all(deps.workers.map((w) => w.pause(true)));
        foreign = true;
      } else if (foreign) {
        // a resume that fails rejects this check (its periodic task logs it) and leaves `foreign`
        // set, so the next check resumes again instead of leaving a worker paused for good
        await Promise.all(deps.workers.map((w) => w.resume()));
        foreign = false;
        deps.log.info({ queuePrefix: deps.queuePrefix }, "QUEUE_PREFIX is this deployment's again: taking jobs");
      }
      return { more: false };
    },
  };
}
