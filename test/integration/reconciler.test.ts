import { UnrecoverableError, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../../src/redis.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRequestQueues, jobIdFor, type RequestQueues } from '../../src/queue/request-queue.ts';
import { reconcileOnce } from '../../workers/reconciler.ts';
import type { WorkerHandle } from '../../workers/start-worker.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { connectTestRedis } from '../helpers/redis-target.ts';
import { insertItem, itemsOf, madeBy, quantityOf } from '../helpers/items.ts';
import { requestRow, terminalRow } from '../helpers/requests.ts';
import { submit } from '../helpers/submit.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';

describe('the reconciler', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let redis: RedisClient;
  let queue: RequestQueues;
  let worker: WorkerHandle | undefined;

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
    redis = connectTestRedis(ctx.config);
    queue = createRequestQueues(redis, ctx.config);
  });
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await ctx.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  async function take(source: string, quantity: number): Promise<string> {
    const res = await submit(app, '/v1/items', { name: 'item', quantity, takeFrom: source });
    expect(res.statusCode, res.body).toBe(202);
    return res.json().id;
  }

  it('re-enqueues accepted requests after Redis lost every job, and each runs once', async () => {
    const a = await insertItem(ctx, 10_000);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await take(a, 100));
    expect(await queue.of(ids[0]!).getJobState(jobIdFor(ids[0]!))).toBe('waiting');

    // the data loss: this context's keys only, on the shared Redis
    expect(await deleteQueueKeys(ctx.config.queuePrefix)).toBeGreaterThan(0);
    expect(await queue.of(ids[0]!).getJobState(jobIdFor(ids[0]!))).toBe('unknown');

    worker = await ctx.startWorker();
    for (const id of ids) expect((await terminalRow(ctx, id)).status).toBe('succeeded');
    for (const id of ids) expect(await itemsOf(ctx, id)).toBe(1);
    expect([await quantityOf(ctx, a), (await Promise.all(ids.map((id) => madeBy(ctx, id)))).reduce((x, y) => x + y, 0)]).toEqual([
      9_500, 500,
    ]);
  });

  it('replaces a job that ended failed in BullMQ while its request is unfinished', async () => {
    const a = await insertItem(ctx, 1_000);
    const id = await take(a, 300);

    // a worker whose attempts "ran out" (as in a long outage): the job ends failed, the request stays queued
    const failing = new Worker(
      queue.of(id).name,
      async () => {
        throw new UnrecoverableError('simulated: attempts ran out during an outage');
      },
      { connection: redis, prefix: ctx.config.queuePrefix },
    );
    await new Promise<void>((resolve) => failing.once('failed', () => resolve()));
    await failing.close();
    expect(await queue.of(id).getJobState(jobIdFor(id))).toBe('failed');
    expect((await requestRow(ctx, id))?.status).toBe('queued');

    // `add` of the same id would be ignored; the reconciler removes the failed job first
    worker = await ctx.startWorker();
    expect((await terminalRow(ctx, id)).status).toBe('succeeded');
    expect(await itemsOf(ctx, id)).toBe(1);
    expect(await madeBy(ctx, id)).toBe(300);
  });

  it('pages through unfinished requests, so live jobs at the head do not hide lost ones behind them', async () => {
    const a = await insertItem(ctx, 1_000);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await take(a, 1));
    const order = await ctx.db
      .selectFrom('idemq.requests')
      .select('id')
      .where('id', 'in', ids)
      .orderBy('updated_at')
      .orderBy('id')
      .execute();
    // the two oldest keep their jobs; the three after them lose theirs
    for (const { id } of order.slice(2)) await queue.removeJob(id);

    const first = await reconcileOnce(ctx.db, queue, 0, { batchSize: 2 });
    expect(first).toMatchObject({ checked: 2, enqueued: 0, more: false });
    expect(first.next).toBeDefined();
    const second = await reconcileOnce(ctx.db, queue, 0, { batchSize: 2, after: first.next });
    expect(second).toMatchObject({ checked: 2, enqueued: 2, more: true });
    const third = await reconcileOnce(ctx.db, queue, 0, { batchSize: 2, after: second.next });
    expect(third).toMatchObject({ checked: 1, enqueued: 1, more: false, next: undefined });
    for (const { id } of order) expect(await queue.of(id).getJobState(jobIdFor(id))).toBe('waiting');

    // a second pass finds nothing left to do: adding a live id again would be a no-op anyway
    expect(await reconcileOnce(ctx.db, queue, 0, { batchSize: 10 })).toMatchObject({ checked: 5, enqueued: 0 });
    worker = await ctx.startWorker();
    for (const id of ids) expect((await terminalRow(ctx, id)).status).toBe('succeeded');
  });

  it('leaves young requests alone: the API is still enqueueing them', async () => {
    const a = await insertItem(ctx, 1_000);
    const id = await take(a, 1);
    await queue.removeJob(id);
    expect(await reconcileOnce(ctx.db, queue, 60_000)).toMatchObject({ checked: 0, enqueued: 0 });
    expect(await reconcileOnce(ctx.db, queue, 0)).toMatchObject({ enqueued: 1 });
    worker = await ctx.startWorker();
    expect((await terminalRow(ctx, id)).status).toBe('succeeded');
  });
});
