import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { adminAuth, auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { startTcpProxy, type TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const REDIS = { host: '127.0.0.1', port: 6379 };
/** every answer with Redis away or hung comes within this */
const ANSWER_WITHIN_MS = 5_000;

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

async function timed<T>(what: string, run: () => Promise<T>): Promise<T> {
  return within(run(), ANSWER_WITHIN_MS, what);
}

describe('API with Redis unreachable at start', () => {
  let ctx: TestContext;
  let proxy: TcpProxy;
  afterAll(async () => {
    await ctx?.close();
    await proxy?.close();
  });

  it('starts, accepts (202, recorded), reports Redis down; once Redis is back a worker completes the request', async () => {
    proxy = await startTcpProxy(REDIS);
    proxy.cut();
    ctx = await createTestContext({ REDIS_URL: viaProxy('redis://127.0.0.1:6379', proxy) });
    const app: FastifyInstance = await within(ctx.startApi(), ANSWER_WITHIN_MS, 'API start with Redis down');
    const admin = await within(ctx.startAdmin(app), ANSWER_WITHIN_MS, 'admin server start with Redis down');

    const res = await timed('POST', () => submit(app, '/v1/items', { name: 'item', quantity: 42 }));
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const row = await ctx.db.selectFrom('idemq.requests').select(['id', 'status']).where('id', '=', id).executeTakeFirst();
    expect(row).toEqual({ id, status: 'queued' });

    const ready = await timed('/readyz', () => app.inject({ method: 'GET', url: '/readyz' }));
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'degraded', checks: { postgres: 'ok', redis: 'unavailable' } });

    const metrics = await timed('/metrics', () => admin.inject({ method: 'GET', url: '/metrics', headers: adminAuth }));
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/idemq_backlog\{kind="unfinished_requests"\} 1/);

    // Redis back: the job was never added; the worker's reconciler adds it, the API hears the outcome
    proxy.restore();
    const waited = app.inject({ method: 'GET', url: `/v1/requests/${id}?wait=20`, headers: auth() });
    await ctx.startWorker();
    const done = await waited;
    expect(done.json(), done.body).toMatchObject({ id, status: 'succeeded', result: { quantity: 42 } });
    await waitUntil('readiness back to ready', async () => {
      const r = await app.inject({ method: 'GET', url: '/readyz' });
      return r.statusCode === 200 && r.json().status === 'ready' && r.json();
    });
  }, 45_000);
});

describe('API with Redis hung (connected, not answering)', () => {
  let ctx: TestContext;
  let proxy: TcpProxy;
  afterAll(async () => {
    await proxy?.close();
    await ctx?.close();
  });

  it('answers /metrics, /readyz, POST and a long-poll within a bound', async () => {
    proxy = await startTcpProxy(REDIS);
    ctx = await createTestContext({ REDIS_URL: viaProxy('redis://127.0.0.1:6379', proxy) });
    const app = await ctx.startApi();
    const admin = await ctx.startAdmin(app);
    // the connections are up and have answered once
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await admin.inject({ method: 'GET', url: '/metrics', headers: adminAuth })).statusCode).toBe(200);
    proxy.freeze();

    const [metrics, ready, post] = await Promise.all([
      timed('/metrics', () => admin.inject({ method: 'GET', url: '/metrics', headers: adminAuth })),
      timed('/readyz', () => app.inject({ method: 'GET', url: '/readyz' })),
      timed('POST', () => submit(app, '/v1/items', { name: 'item', quantity: 5 })),
    ]);
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/idemq_backlog\{kind="unfinished_requests"\} \d+/);
    expect(metrics.body).not.toMatch(/kind="jobs_/);
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'degraded', checks: { postgres: 'ok', redis: 'unavailable' } });
    expect(post.statusCode, post.body).toBe(202);
    const id = post.json().id as string;
    expect(await ctx.db.selectFrom('idemq.requests').select('id').where('id', '=', id).executeTakeFirst()).toEqual({ id });

    // a scrape counts its own failures after it is written: the next one shows them
    const again = await timed('/metrics again', () => admin.inject({ method: 'GET', url: '/metrics', headers: adminAuth }));
    expect(again.body).toMatch(/idemq_metrics_source_failures_total\{source="redis"\} [1-9]/);

    const start = Date.now();
    const poll = await timed('long-poll', () => app.inject({ method: 'GET', url: `/v1/requests/${id}?wait=1`, headers: auth() }));
    expect(poll.statusCode).toBe(200);
    expect(poll.json().status).toBe('queued');
    expect(Date.now() - start).toBeGreaterThanOrEqual(1_000 - 50);
  }, 30_000);
});

describe('API without Postgres', () => {
  let ctx: TestContext;
  let proxy: TcpProxy;
  afterAll(async () => {
    await ctx?.close();
    await proxy?.close();
  });

  it("answers 503 with each dependency's state", async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
    ctx = await createTestContext((database) => ({ DATABASE_URL: viaProxy(database.url, proxy) }));
    const app = await ctx.startApi();
    await waitUntil('ready', async () => (await app.inject({ method: 'GET', url: '/readyz' })).json().status === 'ready');
    proxy.cut();
    const res = await timed('/readyz', () => app.inject({ method: 'GET', url: '/readyz' }));
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.json()).toMatchObject({
      type: 'https://idemq.dev/problems/service-unavailable',
      checks: { postgres: 'unavailable', redis: 'ok' },
    });
  }, 20_000);
});
