import { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../../src/redis.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRequestQueues, jobIdFor, REQUEST_QUEUE, type RequestJobData, type RequestQueues } from '../../src/queue/request-queue.ts';
import type { WorkerHandle } from '../../workers/start-worker.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { connectTestRedis } from '../helpers/redis-target.ts';
import { insertItem, itemsOf, madeBy, quantityOf } from '../helpers/items.ts';
import { requestRow, terminalRow } from '../helpers/requests.ts';
import { submit } from '../helpers/submit.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { blockedWorkerBackends, holdRowLock } from '../helpers/row-lock.ts';
import { waitUntil } from '../helpers/wait-until.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';

const JOB_LOCK_MS = 2_000;
const STALLED_INTERVAL_MS = 1_000;
/** the documented bound (docs/operations.md) plus room for a worker to pick the job up on a busy machine */
const RESUME_BOUND_MS = JOB_LOCK_MS + 2 * STALLED_INTERVAL_MS + 2_000;

describe('a worker that dies mid-job', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let redis: RedisClient;
  let queue: RequestQueues;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    ctx = await createTestContext({ JOB_LOCK_MS: String(JOB_LOCK_MS), STALLED_INTERVAL_MS: String(STALLED_INTERVAL_MS) });
    app = await ctx.startApi();
    redis = connectTestRedis(ctx.config);
    queue = createRequestQueues(redis, ctx.config);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await ctx.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  it('SIGKILLed while its request is processing: another worker resumes it and it runs once', async () => {
    const a = await insertItem(ctx, 1_000);
    const lock = await holdRowLock(ctx.config.databaseUrl, 'fixture.items', a);
    cleanups.push(() => lock.release());
    const doomed: WorkerProcess = await startWorkerProcess(ctx);
    cleanups.push(() => doomed.kill());

    const res = await submit(app, '/v1/items', { name: 'item', quantity: 400, takeFrom: a });
    expect(res.statusCode, res.body).toBe(202);
    const { id } = res.json();
    // the job is in flight: the request is marked processing and the worker waits on the source item's row
    await waitUntil('the worker to block mid-job', async () =>
      (await blockedWorkerBackends(ctx.config.databaseUrl)).some((b) => b.workerPid === doomed.pid),
    );
    expect((await requestRow(ctx, id))?.status).toBe('processing');

    await doomed.kill();
    const killedAt = Date.now();
    const survivor: WorkerHandle = await ctx.startWorker();
    cleanups.push(() => survivor.close());
    // the dead worker's backend finishes its statement once the lock goes, then finds its client gone and rolls back
    await lock.release();

    const done = await terminalRow(ctx, id, RESUME_BOUND_MS + 5_000);
    const resumedAfterMs = Date.now() - killedAt;
    console.info(`resumed ${resumedAfterMs} ms after SIGKILL (lock ${JOB_LOCK_MS} ms, stalled check every ${STALLED_INTERVAL_MS} ms)`);
    expect(done.status).toBe('succeeded');
    expect(resumedAfterMs).toBeLessThan(RESUME_BOUND_MS);
    expect(await itemsOf(ctx, id)).toBe(1);
    expect([await quantityOf(ctx, a), await madeBy(ctx, id)]).toEqual([600, 400]);
  });

  it('a job left active with a lapsed lock (its worker vanished before touching Postgres) is resumed', async () => {
    const a = await insertItem(ctx, 1_000);
    // a worker that takes the job and hangs, then goes away without releasing it: its lock is left to lapse
    let taken!: () => void;
    const tookJob = new Promise<void>((resolve) => (taken = resolve));
    const hung = new Worker(
      REQUEST_QUEUE,
      () => {
        taken();
        return new Promise(() => undefined);
      },
      { connection: redis, prefix: ctx.config.queuePrefix, lockDuration: JOB_LOCK_MS, skipStalledCheck: true },
    );

    const res = await submit(app, '/v1/items', { name: 'item', quantity: 250, takeFrom: a });
    const { id } = res.json();
    await tookJob;
    await hung.close(true);
    expect(await queue.of(id).getJobState(jobIdFor(id))).toBe('active');
    expect((await requestRow(ctx, id))?.status).toBe('queued');

    const abandonedAt = Date.now();
    const survivor = await ctx.startWorker();
    cleanups.push(() => survivor.close());
    expect((await terminalRow(ctx, id, RESUME_BOUND_MS + 5_000)).status).toBe('succeeded');
    expect(Date.now() - abandonedAt).toBeLessThan(RESUME_BOUND_MS);
    expect(await itemsOf(ctx, id)).toBe(1);
    expect(await madeBy(ctx, id)).toBe(250);
  });

  it('a job that stalls again and again is still resumed, never failed for crashing alone', async () => {
    const a = await insertItem(ctx, 1_000);
    const res = await submit(app, '/v1/items', { name: 'item', quantity: 10, takeFrom: a });
    const { id } = res.json();
    // three workers in a row take the job and vanish (BullMQ's default would fail it on the second stall)
    for (let crash = 0; crash < 3; crash++) {
      let taken!: () => void;
      const tookJob = new Promise<void>((resolve) => (taken = resolve));
      const hung = new Worker(
        REQUEST_QUEUE,
        () => {
          taken();
          return new Promise(() => undefined);
        },
        { connection: redis, prefix: ctx.config.queuePrefix, lockDuration: 1_000, stalledInterval: 500, maxStalledCount: 1_000 },
      );
      await tookJob;
      await hung.close(true);
      // let a stalled check run (from a checker that does not process) and move it back to wait
      const checker = new Worker(REQUEST_QUEUE, null, {
        connection: redis,
        prefix: ctx.config.queuePrefix,
        stalledInterval: 500,
        maxStalledCount: 1_000,
      });
      await checker.startStalledCheckTimer();
      await waitUntil('the stalled job to go back to wait', async () => (await queue.of(id).getJobState(jobIdFor(id))) === 'waiting', {
        timeoutMs: 10_000,
      });
      await checker.close();
    }
    const job = await queue.getJob(id);
    expect(Number((job as unknown as { stalledCounter?: number }).stalledCounter ?? 0)).toBeGreaterThanOrEqual(3);

    const survivor = await ctx.startWorker();
    cleanups.push(() => survivor.close());
    expect((await terminalRow(ctx, id)).status).toBe('succeeded');
    expect(await itemsOf(ctx, id)).toBe(1);
  });
});
