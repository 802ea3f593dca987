import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { addressOf, TEST_SERVICES } from '../helpers/services.ts';
import { startTcpProxy, type TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const LIMIT = 3;
/** the limiter's command timeout is 250 ms; generous for a loaded machine, far below a hang */
const BOUND_MS = 1_500;

// Redis (the shared one) keeps running: the test cuts or freezes only its own proxy in front of it.
describe('rate limits while Redis is away (RATE_LIMIT_PER_MINUTE=3)', () => {
  let proxy: TcpProxy;
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    proxy = await startTcpProxy(addressOf(TEST_SERVICES.redisUrl));
    ctx = await createTestContext({ REDIS_URL: viaProxy(TEST_SERVICES.redisUrl, proxy), RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    app = await ctx.startApi();
  });
  afterAll(async () => {
    // a frozen connection would hold the queue's close up
    proxy?.restore();
    await ctx?.close();
    await proxy?.close();
  });

  const timedRead = async (tenant: 'acme' | 'globex' = 'acme') => {
    const started = performance.now();
    const res = await app.inject({ url: `/v1/requests/${randomUUID()}`, headers: auth(tenant) });
    return { res, ms: performance.now() - started };
  };

  async function expectOpenAndFast(calls: number) {
    for (let i = 0; i < calls; i++) {
      const { res, ms } = await timedRead();
      expect(res.statusCode, res.body).toBe(404);
      expect(ms).toBeLessThan(BOUND_MS);
    }
  }

  it('limits while Redis answers', async () => {
    for (let i = 0; i < LIMIT; i++) expect((await timedRead('globex')).res.statusCode).toBe(404);
    expect((await timedRead('globex')).res.statusCode).toBe(429);
  });

  it('fails open when Redis is cut: every call answered at once, none limited (a budget known to be spent stays refused)', async () => {
    proxy.cut();
    await expectOpenAndFast(3 * LIMIT);
    // this instance already knows globex spent its window: refusing that needs no Redis
    const { res, ms } = await timedRead('globex');
    expect(res.statusCode).toBe(429);
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('fails open when Redis hangs (frozen): answers stay within a bound, none limited, even for many calls at once', async () => {
    proxy.restore();
    await waitUntil('Redis answers again', async () => (await app.inject({ url: '/readyz' })).json().status === 'ready');
    proxy.freeze();
    await expectOpenAndFast(3 * LIMIT);
    const started = performance.now();
    const burst = await Promise.all(Array.from({ length: 50 }, () => app.inject({ url: `/v1/requests/${randomUUID()}`, headers: auth() })));
    expect(burst.map((r) => r.statusCode)).toEqual(Array(50).fill(404));
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
  });
});
