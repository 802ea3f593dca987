import { afterEach, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/bucket-of.ts';
import { createRequestQueues, jobIdFor } from '../../src/queue/request-queue.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { awaitTerminal, submit } from '../helpers/submit.ts';
import { inspectQueue } from '../helpers/queue.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { connectTestRedis } from '../helpers/redis-target.ts';

/** QUEUE_SHARDS on a standalone Redis: the queue splits by request id, and a deployment that adds shards still drains its old queue. */
describe('the request queue in shards (standalone Redis)', () => {
  let ctx: TestContext | undefined;
  let inspector: ReturnType<typeof inspectQueue> | undefined;
  afterEach(async () => {
    await inspector?.close();
    await ctx?.close();
    if (ctx) await deleteQueueKeys(ctx.config.queuePrefix);
    ctx = inspector = undefined;
  });

  it('puts each request in the shard its id picks, and workers take every shard', async () => {
    ctx = await createTestContext({ QUEUE_SHARDS: '3' });
    const api = await ctx.startApi();
    await ctx.startWorker();
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push((await submit(api, '/v1/items', { name: 'item', quantity: i })).json().id);
    for (const id of ids) expect((await awaitTerminal(api, id)).status).toBe('succeeded');
    const redis = connectTestRedis(ctx.config);
    const queues = createRequestQueues(redis, ctx.config);
    try {
      expect(queues.shards.map((q) => q.name)).toEqual(['requests', 'requests-1', 'requests-2']);
      const states = await Promise.all(ids.map((id) => queues.shards[bucketOf(id, 3)]!.getJobState(jobIdFor(id))));
      expect(states).toEqual(ids.map(() => 'completed'));
      const counts = await Promise.all(queues.shards.map((q) => q.getCompletedCount()));
      expect(
        counts.every((n) => n > 0),
        String(counts),
      ).toBe(true);
      expect(counts.reduce((a, b) => a + b)).toBe(60);
    } finally {
      await queues.close();
      redis.disconnect();
    }
  });

  it('drains the jobs a one-shard deployment left, once it runs with more shards', async () => {
    // no reconciler re-add within the test: only the workers' reading of the old queue can finish these
    ctx = await createTestContext({ QUEUE_SHARDS: '1', RECONCILE_AFTER_MS: '600000' });
    const api = await ctx.startApi();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await submit(api, '/v1/items', { name: 'item', quantity: i })).json().id);
    inspector = inspectQueue(ctx.config.queuePrefix);
    // the queue every version before shards wrote to
    expect(inspector.queue.name).toBe('requests');
    expect(await inspector.queue.getWaitingCount()).toBe(30);
    expect(ids.some((id) => bucketOf(id, 3) !== 0)).toBe(true);

    await ctx.startWorker({ QUEUE_SHARDS: '3' });
    for (const id of ids) expect((await awaitTerminal(api, id)).status).toBe('succeeded');
    expect(await inspector.queue.getJobState(jobIdFor(ids[0]!))).toBe('completed');
  });
});
