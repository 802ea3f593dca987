import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../../src/redis.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequestQueues, jobIdFor, type RequestQueues } from '../../src/queue/request-queue.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { connectTestRedis } from '../helpers/redis-target.ts';
import { insertItem, itemsOf, madeBy, quantityOf } from '../helpers/items.ts';
import { requestRow, terminalRow } from '../helpers/requests.ts';
import { submit } from '../helpers/submit.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { blockedWorkerBackends, holdRowLock } from '../helpers/row-lock.ts';
import { waitUntil } from '../helpers/wait-until.ts';
import { startWorkerProcess } from '../helpers/worker-process.ts';

const SHUTDOWN_TIMEOUT_MS = 1_500;

describe('graceful shutdown of a worker', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let redis: RedisClient;
  let queue: RequestQueues;

  beforeAll(async () => {
    // a long lock: anything resumed quickly below was released, not found stalled
    ctx = await createTestContext({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), JOB_LOCK_MS: '30000' });
    app = await ctx.startApi();
    redis = connectTestRedis(ctx.config);
    queue = createRequestQueues(redis, ctx.config);
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await ctx.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  /** Submits an item taken out of a locked item and waits until a worker is blocked on it mid-job. */
  async function takeInFlight(quantity: number) {
    const a = await insertItem(ctx, 1_000);
    const lock = await holdRowLock(ctx.config.databaseUrl, 'fixture.items', a);
    const res = await submit(app, '/v1/items', { name: 'item', quantity, takeFrom: a });
    const { id } = res.json();
    await waitUntil('a worker to block mid-job', async () => (await blockedWorkerBackends(ctx.config.databaseUrl)).length > 0);
    expect((await requestRow(ctx, id))?.status).toBe('processing');
    return { id, a, lock };
  }

  it('lets an in-flight job finish before closing', async () => {
    const worker = await ctx.startWorker();
    const { id, lock } = await takeInFlight(120);
    const started = Date.now();
    const closing = worker.close();
    setTimeout(() => void lock.release(), 300);
    await closing;
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect((await requestRow(ctx, id))?.status).toBe('succeeded');
    expect(await itemsOf(ctx, id)).toBe(1);
    expect(await madeBy(ctx, id)).toBe(120);
    expect(await queue.of(id).getJobState(jobIdFor(id))).toBe('completed');
  });

  it('releases a job that does not finish in time to another worker at once, and it still runs once', async () => {
    const first = await ctx.startWorker();
    const { id, a, lock } = await takeInFlight(80);
    const started = Date.now();
    await first.close();
    const closedAfter = Date.now() - started;
    expect(closedAfter).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS);
    expect(closedAfter).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 4_000);
    // back in wait, not left active until its 30 s lock lapses
    expect(await queue.of(id).getJobState(jobIdFor(id))).toBe('waiting');

    const second = await ctx.startWorker();
    await lock.release();
    expect((await terminalRow(ctx, id, 10_000)).status).toBe('succeeded');
    expect(await itemsOf(ctx, id)).toBe(1);
    expect([await quantityOf(ctx, a), await madeBy(ctx, id)]).toEqual([920, 80]);
    await waitUntil('the job to complete', async () => (await queue.of(id).getJobState(jobIdFor(id))) === 'completed');
    await second.close();
  });

  it('a worker process exits 0 on SIGTERM within its bound, finishing what it holds', async () => {
    const proc = await startWorkerProcess(ctx, { JOB_LOCK_MS: '30000' });
    const { id, lock } = await takeInFlight(5);
    const started = Date.now();
    const exited = proc.stop();
    setTimeout(() => void lock.release(), 300);
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 4_000);
    expect((await requestRow(ctx, id))?.status).toBe('succeeded');
  });
});
