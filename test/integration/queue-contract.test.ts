import { type Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequestQueue, enqueueRequests, JOB_OPTIONS, jobIdFor, REQUEST_QUEUE, type RequestJobData } from '../../src/queue/request-queue.ts';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';

/**
 * What idemq relies on BullMQ for, checked against the installed BullMQ rather than assumed from
 * an earlier major: a second add of an id is a no-op in every state, states and counts name no
 * `paused` state, a finished job keeps its hash (with finishedOn) under the removal options, and
 * removing a finished job lets the reconciler add the same id again.
 */
describe('the BullMQ contract idemq relies on', () => {
  let ctx: TestContext;
  let redis: Redis;
  let queue: Queue<RequestJobData>;
  beforeAll(async () => {
    ctx = await createTestContext();
    redis = new Redis(ctx.config.redisUrl, { ...REDIS_PROTOCOL, maxRetriesPerRequest: null });
    queue = createRequestQueue(redis, ctx.config.queuePrefix);
  });
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await deleteQueueKeys(ctx.config.queuePrefix);
    await ctx?.close();
  });

  const queued = (...ids: string[]) => ids.map((id) => ({ id, operation: 'payments.create' }));
  const ids = (n: number) => Array.from({ length: n }, () => crypto.randomUUID());

  it('adds one job per id: a second addBulk of a waiting id changes nothing', async () => {
    const [a, b] = ids(2) as [string, string];
    await enqueueRequests(queue, queued(a, b));
    const first = await queue.getJob(jobIdFor(a));
    await enqueueRequests(queue, queued(a, a, b));
    expect(await queue.getWaitingCount()).toBe(2);
    const again = await queue.getJob(jobIdFor(a));
    expect(again?.timestamp).toBe(first?.timestamp);
    expect(await queue.getJobState(jobIdFor(a))).toBe('waiting');
    expect(Object.keys(await queue.getJobCounts()).sort()).not.toContain('paused');
    await queue.drain();
  });

  it('keeps a finished job with finishedOn under the removal options; an add of its id is a no-op until it is removed', async () => {
    expect(JOB_OPTIONS.removeOnComplete).toEqual({ age: 3_600, count: 10_000 });
    const [done, failed] = ids(2) as [string, string];
    const worker = new Worker<RequestJobData>(
      REQUEST_QUEUE,
      async (job) => {
        if (job.data.requestId === failed) throw new Error('gives up');
        return 'ok';
      },
      { connection: redis.duplicate(), prefix: ctx.config.queuePrefix, settings: { backoffStrategy: () => 0 } },
    );
    try {
      await queue.addBulk([
        { name: 'process', data: { requestId: done }, opts: { jobId: jobIdFor(done) } },
        // one attempt, so that it ends failed at once
        { name: 'process', data: { requestId: failed }, opts: { jobId: jobIdFor(failed), attempts: 1 } },
      ]);
      await expect.poll(() => queue.getJobState(jobIdFor(done)), { timeout: 10_000 }).toBe('completed');
      await expect.poll(() => queue.getJobState(jobIdFor(failed)), { timeout: 10_000 }).toBe('failed');
    } finally {
      await worker.close();
    }
    for (const id of [done, failed]) {
      const job = await queue.getJob(jobIdFor(id));
      expect(job?.finishedOn).toBeGreaterThan(0);
      // the reconciler's path: a finished job blocks its id until removed
      await enqueueRequests(queue, queued(id));
      expect(await queue.getJobState(jobIdFor(id))).not.toBe('waiting');
      await queue.remove(jobIdFor(id));
      await enqueueRequests(queue, queued(id));
      expect(await queue.getJobState(jobIdFor(id))).toBe('waiting');
    }
  });
});
