import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRequestQueues,
  enqueueRequests,
  JOB_OPTIONS,
  jobIdFor,
  type RequestJobData,
  type RequestQueues,
} from '../../src/queue/request-queue.ts';
import type { RedisClient } from '../../src/redis.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { connectTestRedis } from '../helpers/redis-target.ts';

/**
 * What idemq relies on BullMQ for, checked against the installed BullMQ rather than assumed from
 * an earlier major: a second add of an id is a no-op in every state, states and counts name no
 * `paused` state, a finished job keeps its hash (with finishedOn) under the removal options, and
 * removing a finished job lets the reconciler add the same id again.
 */
describe('the BullMQ contract idemq relies on', () => {
  let ctx: TestContext;
  let redis: RedisClient;
  let queue: RequestQueues;
  beforeAll(async () => {
    ctx = await createTestContext();
    redis = connectTestRedis(ctx.config);
    queue = createRequestQueues(redis, ctx.config);
  });
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await deleteQueueKeys(ctx.config.queuePrefix);
    await ctx?.close();
  });

  const queued = (...ids: string[]) => ids.map((id) => ({ id, operation: 'items.create' }));
  const ids = (n: number) => Array.from({ length: n }, () => crypto.randomUUID());
  const stateOf = (id: string) => queue.of(id).getJobState(jobIdFor(id));

  it('adds one job per id: a second addBulk of a waiting id changes nothing', async () => {
    const [a, b] = ids(2) as [string, string];
    await enqueueRequests(queue, queued(a, b));
    const first = await queue.getJob(a);
    await enqueueRequests(queue, queued(a, a, b));
    expect((await queue.getJobCounts('waiting')).waiting).toBe(2);
    const again = await queue.getJob(a);
    expect(again?.timestamp).toBe(first?.timestamp);
    expect(await stateOf(a)).toBe('waiting');
    expect(Object.keys(await queue.getJobCounts()).sort()).not.toContain('paused');
    for (const shard of queue.shards) await shard.drain();
  });

  it('keeps a finished job with finishedOn under the removal options; an add of its id is a no-op until it is removed', async () => {
    expect(JOB_OPTIONS.removeOnComplete).toEqual({ age: 3_600, count: 10_000 });
    const [done, failed] = ids(2) as [string, string];
    const workers = queue.shards.map(
      (shard) =>
        new Worker<RequestJobData>(
          shard.name,
          async (job) => {
            if (job.data.requestId === failed) throw new Error('gives up');
            return 'ok';
          },
          { connection: redis, prefix: ctx.config.queuePrefix, settings: { backoffStrategy: () => 0 } },
        ),
    );
    try {
      await queue.of(done).add('process', { requestId: done }, { jobId: jobIdFor(done) });
      // one attempt, so that it ends failed at once
      await queue.of(failed).add('process', { requestId: failed }, { jobId: jobIdFor(failed), attempts: 1 });
      await expect.poll(() => stateOf(done), { timeout: 10_000 }).toBe('completed');
      await expect.poll(() => stateOf(failed), { timeout: 10_000 }).toBe('failed');
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    for (const id of [done, failed]) {
      const job = await queue.getJob(id);
      expect(job?.finishedOn).toBeGreaterThan(0);
      // the reconciler's path: a finished job blocks its id until removed
      await enqueueRequests(queue, queued(id));
      expect(await stateOf(id)).not.toBe('waiting');
      await queue.removeJob(id);
      await enqueueRequests(queue, queued(id));
      expect(await stateOf(id)).toBe('waiting');
    }
  });
});
