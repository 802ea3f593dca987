import { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createItem } from '../fixtures/app/items.create.ts';
import { defineOperation } from '../../src/operations/operation.ts';
import { jobIdFor, REQUEST_QUEUE } from '../../src/queue/request-queue.ts';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';
import { terminalRow } from '../helpers/requests.ts';
import { submit } from '../helpers/submit.ts';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { type Sample, scrape, valueOf } from '../helpers/prometheus-text.ts';
import { inspectQueue } from '../helpers/queue.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { addressOf, TEST_SERVICES } from '../helpers/services.ts';
import { startTcpProxy, type TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const BACKLOG = 30;

// items.create as a worker whose code misbehaves on some inputs: `name` says how
const seen = new Set<string>();
const misbehavingItems = defineOperation({
  ...createItem,
  // one request at a time through `handle`, as the misbehaviour is written there
  lockForBatch: undefined,
  handleBatch: undefined,
  async handle(trx, ctx, input) {
    if (input.name === 'always-fails') throw new Error('a bug in the operation');
    if (input.name === 'transient-once' && !seen.has(ctx.requestId)) {
      seen.add(ctx.requestId);
      throw Object.assign(new Error('could not serialize access'), { code: '40001' });
    }
    return createItem.handle(trx, ctx, input);
  },
});

describe('worker metrics, read from a running worker after real work', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let inspector: ReturnType<typeof inspectQueue>;
  let url: string;
  const metrics = async () => (await scrape(url, adminAuth)).samples;
  const submitItem = async (name: string) => {
    const res = await submit(app, '/v1/items', { quantity: 1, name });
    expect(res.statusCode, res.body).toBe(202);
    return res.json().id as string;
  };

  beforeAll(async () => {
    ctx = await createTestContext({ MAX_ATTEMPTS: '2' });
    app = await ctx.startApi();
    inspector = inspectQueue(ctx.config.queuePrefix);
    url = `http://127.0.0.1:${await freePort()}/metrics`;
  });
  afterAll(async () => {
    await inspector?.close();
    await ctx?.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  it('counts a stalled job, a reconciler re-add, the batches and job durations, the queue by state and the outbox lag', async () => {
    // a job taken by a worker that vanishes without releasing it: its lock lapses, it stalls
    const redis = new Redis(ctx.config.redisUrl, { ...REDIS_PROTOCOL, maxRetriesPerRequest: null });
    let taken!: () => void;
    const tookJob = new Promise<void>((resolve) => (taken = resolve));
    const hung = new Worker(
      REQUEST_QUEUE,
      () => {
        taken();
        return new Promise(() => undefined);
      },
      { connection: redis, prefix: ctx.config.queuePrefix, lockDuration: ctx.config.jobLockMs, skipStalledCheck: true },
    );
    const stalledId = await submitItem('stalls');
    await tookJob;
    await hung.close(true);
    redis.disconnect();

    // a request whose job Redis lost
    const lostId = await submitItem('lost');
    await inspector.queue.remove(jobIdFor(lostId));
    // an outbox event a minute old that a relay cannot take yet (another transaction holds it)
    const event = JSON.stringify({ requestId: lostId, tenantId: 'acme', status: 'queued', version: 1 });
    const { rows } = await sql<{ id: string }>`insert into idemq.outbox (request_id, payload, created_at)
      values (${lostId}, ${event}::jsonb, now() - interval '60 seconds') returning id`.execute(ctx.db);
    const eventId = rows[0]!.id;
    const holder = new pg.Client({ connectionString: ctx.config.databaseUrl });
    holder.on('error', () => undefined); // dropped with the test database if the test fails first
    await holder.connect();
    await holder.query('begin');
    await holder.query('select 1 from idemq.outbox where id = $1 for update', [eventId]);

    // a backlog waiting for the worker, so it takes them in batches
    const backlog = await Promise.all(Array.from({ length: BACKLOG }, (_, i) => submitItem(`backlog-${i}`)));
    const port = new URL(url).port;
    await ctx.startWorker({ WORKER_METRICS_PORT: port }, { operations: [misbehavingItems] });
    const first = await metrics();
    expect(valueOf(first, 'idemq_worker_outbox_lag_seconds')).toBeGreaterThanOrEqual(60);
    expect(valueOf(first, 'idemq_worker_outbox_events')).toBeGreaterThanOrEqual(1);

    for (const id of [stalledId, lostId, ...backlog]) expect((await terminalRow(ctx, id)).status).toBe('succeeded');
    const ran = BACKLOG + 2;
    const done = await waitUntil('the stalled job to be counted', async () => {
      const s = await metrics();
      return valueOf(s, 'idemq_worker_stalled_jobs_total') >= 1 ? s : undefined;
    });
    expect(valueOf(done, 'idemq_worker_stalled_jobs_total')).toBe(1);
    expect(valueOf(done, 'idemq_worker_reconciler_readded_total')).toBeGreaterThanOrEqual(1);
    // every request ran in some batch, and at least one batch held several
    expect(valueOf(done, 'idemq_worker_batch_size_sum')).toBe(ran);
    expect(valueOf(done, 'idemq_worker_batch_size_count')).toBeLessThan(ran);
    expect(valueOf(done, 'idemq_worker_batch_size_bucket', { le: '1' })).toBeLessThan(valueOf(done, 'idemq_worker_batch_size_count'));
    expect(valueOf(done, 'idemq_worker_job_duration_seconds_count', { result: 'completed' })).toBe(ran);
    expect(valueOf(done, 'idemq_worker_job_duration_seconds_sum', { result: 'completed' })).toBeGreaterThan(0);
    const counts = await inspector.queue.getJobCounts('completed', 'waiting');
    expect(valueOf(done, 'idemq_worker_queue_jobs', { state: 'completed' })).toBe(counts.completed);
    expect(valueOf(done, 'idemq_worker_queue_jobs', { state: 'waiting' })).toBe(counts.waiting);
    expect(counts.completed).toBeGreaterThanOrEqual(ran);

    // once the held event is free, the relay publishes it and the lag falls back
    await holder.query('rollback');
    await holder.end();
    await waitUntil('the outbox lag to fall to 0', async () => {
      const s = await metrics();
      return valueOf(s, 'idemq_worker_outbox_lag_seconds') === 0 && valueOf(s, 'idemq_worker_outbox_events') === 0;
    });
  });

  it('counts retries by cause and processing_failed', async () => {
    const before = await metrics();
    const delta = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
      valueOf(s, name, labels) - valueOf(before, name, labels);

    const transient = await submitItem('transient-once');
    expect((await terminalRow(ctx, transient)).status).toBe('succeeded');
    const afterTransient = await metrics();
    expect(delta(afterTransient, 'idemq_worker_retries_total', { cause: 'transient' })).toBe(1);
    expect(delta(afterTransient, 'idemq_worker_retries_total', { cause: 'failure' })).toBe(0);
    expect(delta(afterTransient, 'idemq_worker_job_duration_seconds_count', { result: 'retried' })).toBe(1);

    // MAX_ATTEMPTS=2: one counted failure and retry, then processing_failed
    const failing = await submitItem('always-fails');
    const row = await terminalRow(ctx, failing);
    expect(row.error).toMatchObject({ code: 'processing_failed' });
    const after = await metrics();
    expect(delta(after, 'idemq_worker_retries_total', { cause: 'failure' })).toBe(1);
    expect(delta(after, 'idemq_worker_retries_total', { cause: 'transient' })).toBe(1);
    expect(delta(after, 'idemq_worker_processing_failed_total')).toBe(1);
    expect(delta(after, 'idemq_worker_job_duration_seconds_count', { result: 'failed' })).toBe(1);
  });

  it('every series has the idemq_worker_ prefix and a help text', async () => {
    const { text } = await scrape(url, adminAuth);
    const helps = [...text.matchAll(/^# HELP (\S+) (.*)$/gm)];
    expect(helps.length).toBeGreaterThan(10);
    for (const [, name, help] of helps) {
      expect(name).toMatch(/^idemq_worker_/);
      expect(help!.length, name).toBeGreaterThan(10);
    }
  });
});

describe('a worker scrape with Postgres and Redis hung (connected, not answering)', () => {
  let ctx: TestContext;
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  afterAll(async () => {
    pgProxy?.restore();
    redisProxy?.restore();
    await ctx?.close();
    await pgProxy?.close();
    await redisProxy?.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  it('answers within a bound, leaving the hung sources out, and counts them in the next scrape', async () => {
    pgProxy = await startTcpProxy(addressOf(TEST_SERVICES.postgresUrl));
    redisProxy = await startTcpProxy(addressOf(TEST_SERVICES.redisUrl));
    ctx = await createTestContext(({ url }) => ({
      DATABASE_URL: viaProxy(url, pgProxy),
      REDIS_URL: viaProxy(TEST_SERVICES.redisUrl, redisProxy),
    }));
    const url = `http://127.0.0.1:${await freePort()}/metrics`;
    await ctx.startWorker({ WORKER_METRICS_PORT: new URL(url).port });
    // both sources answer while the links are up
    const up = (await scrape(url, adminAuth)).samples;
    expect(up.some((s) => s.name === 'idemq_worker_queue_jobs')).toBe(true);
    expect(up.some((s) => s.name === 'idemq_worker_outbox_lag_seconds')).toBe(true);

    pgProxy.freeze();
    redisProxy.freeze();
    const started = Date.now();
    const hung = (await scrape(url, adminAuth)).samples;
    // each source gets 2 s, concurrently
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(hung.some((s) => s.name === 'idemq_worker_queue_jobs')).toBe(false);
    expect(hung.some((s) => s.name === 'idemq_worker_outbox_lag_seconds' || s.name === 'idemq_worker_outbox_events')).toBe(false);
    const again = (await scrape(url, adminAuth)).samples;
    expect(valueOf(again, 'idemq_worker_metrics_source_failures_total', { source: 'redis' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(again, 'idemq_worker_metrics_source_failures_total', { source: 'postgres' })).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
