import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { fixtureDb } from '../helpers/items.ts';
import { awaitTerminal, countRequests, submit } from '../helpers/submit.ts';
import { expectProblem } from '../helpers/problem.ts';
import { inspectQueue } from '../helpers/queue.ts';
import { addressOf, TEST_SERVICES } from '../helpers/services.ts';
import { startTcpProxy, type TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';

const body = { name: 'item', quantity: 1 };

// The shared Postgres and Redis keep running: each test cuts only its own proxy in front of them.
describe('Postgres unreachable', () => {
  let proxy: TcpProxy;
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    proxy = await startTcpProxy(addressOf(TEST_SERVICES.postgresUrl));
    ctx = await createTestContext((database) => ({ DATABASE_URL: viaProxy(database.url, proxy) }));
    app = await ctx.startApi();
  });
  afterAll(async () => {
    await ctx?.close();
    await proxy?.close();
  });

  it('answers 503 with Retry-After, never 202, and the same key works normally afterwards', async () => {
    // warm the pool, so the outage meets both pooled connections and new ones
    expect((await submit(app, '/v1/items', body, { key: 'warm-up' })).statusCode).toBe(202);
    const before = await countRequests(ctx);

    proxy.cut();
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await submit(app, '/v1/items', body, { key: 'during-outage' });
      const problem = expectProblem(res, 503, 'service-unavailable');
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(problem.detail).toMatch(/Idempotency-Key/);
    }
    expectProblem(await app.inject({ url: `/v1/requests/${crypto.randomUUID()}`, headers: auth() }), 503, 'service-unavailable');
    // the direct connection sees nothing recorded
    expect(await countRequests(ctx)).toBe(before);

    proxy.restore();
    const after = await submit(app, '/v1/items', body, { key: 'during-outage' });
    expect(after.statusCode, after.body).toBe(202);
    expect(after.headers['idempotent-replayed']).toBeUndefined();
    await ctx.startWorker();
    expect((await awaitTerminal(app, after.json().id)).status).toBe('succeeded');
    const replay = await submit(app, '/v1/items', body, { key: 'during-outage' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().id).toBe(after.json().id);
  });
});

describe('Redis unreachable', () => {
  let proxy: TcpProxy;
  let ctx: TestContext;
  let app: FastifyInstance;
  let inspector: ReturnType<typeof inspectQueue>;
  beforeAll(async () => {
    proxy = await startTcpProxy(addressOf(TEST_SERVICES.redisUrl));
    ctx = await createTestContext({ REDIS_URL: viaProxy(TEST_SERVICES.redisUrl, proxy) });
    app = await ctx.startApi();
    await ctx.startWorker();
    inspector = inspectQueue(ctx.config.queuePrefix);
  });
  afterAll(async () => {
    await inspector?.close();
    await ctx?.close();
    await proxy?.close();
  });

  it('still answers 202, the record being durable, and the request completes once Redis is back', async () => {
    const warm = await submit(app, '/v1/items', body, { headers: { prefer: 'wait=10' } });
    expect(warm.statusCode, warm.body).toBe(200);

    proxy.cut();
    const started = performance.now();
    const res = await submit(app, '/v1/items', body, { key: 'redis-down' });
    expect(res.statusCode, res.body).toBe(202);
    // the enqueue fails fast (or times out) instead of holding the client
    expect(performance.now() - started).toBeLessThan(3_000);
    const { id } = res.json();
    expect(res.json().status).toBe('queued');
    const row = await ctx.db
      .selectFrom('idemq.requests')
      .select(['id', 'status'])
      .where('idempotency_key', '=', 'redis-down')
      .executeTakeFirst();
    expect(row).toEqual({ id, status: 'queued' });
    const replay = await submit(app, '/v1/items', body, { key: 'redis-down' });
    expect(replay.statusCode).toBe(202);
    expect(replay.json().id).toBe(id);
    expect(await inspector.queue.getJob(`req-${id}`)).toBeUndefined();

    proxy.restore();
    // the reconciler (RECONCILE_AFTER_MS=1000) enqueues it; the worker then runs it once
    const done = await awaitTerminal(app, id);
    expect(done.status).toBe('succeeded');
    expect(await fixtureDb(ctx).selectFrom('fixture.items').select('id').where('request_id', '=', id).execute()).toHaveLength(1);
    expect(await inspector.queue.getJob(`req-${id}`)).toBeDefined();
  });
});
