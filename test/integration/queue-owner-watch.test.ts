import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ownerKey } from '../../src/queue/queue-owner.ts';
import { watchQueueOwner } from '../../workers/queue-owner-watch.ts';
import { connectTestRedis } from '../helpers/redis-target.ts';

const redis = connectTestRedis();
afterAll(() => redis.disconnect());

/** A worker's pause and resume as the watch sees them; `resume` fails while `failResume` is set. */
function workerHandle() {
  const handle = {
    paused: false,
    failResume: false,
    pause: async () => void (handle.paused = true),
    resume: async () => {
      if (handle.failResume) throw new Error('resume failed (Redis answered with an error)');
      handle.paused = false;
    },
  };
  return handle;
}

describe('the queue owner watch', () => {
  it('pauses the workers while another deployment owns the prefix, and keeps resuming until a resume succeeds', async () => {
    const queuePrefix = `t${randomBytes(5).toString('hex')}`;
    const worker = workerHandle();
    const watch = watchQueueOwner({
      redis,
      queuePrefix,
      deploymentId: 'ours',
      workers: [worker],
      log: pino({ level: 'silent' }),
      onConflict: () => undefined,
    });
    try {
      await redis.set(ownerKey(queuePrefix), 'theirs');
      await watch.check();
      expect([watch.foreign, worker.paused]).toEqual([true, true]);

      // the other deployment's claim is gone (deleted, or Redis lost its data): the prefix is ours again
      await redis.del(ownerKey(queuePrefix));
      worker.failResume = true;
      await expect(watch.check()).rejects.toThrow('resume failed');
      // not resumed, so still counted as foreign: the reconciler adds nothing, and the next check tries again
      expect([watch.foreign, worker.paused]).toEqual([true, true]);

      worker.failResume = false;
      await watch.check();
      expect([watch.foreign, worker.paused]).toEqual([false, false]);
    } finally {
      await redis.del(ownerKey(queuePrefix));
    }
  });
});
