import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Type from 'typebox';
import { upstreamKeyFor } from '../../src/operations/forward/upstream-key.ts';
import { defineOperation } from '../../src/operations/operation.ts';
import { auth, createTestContext, type TENANTS, type TestContext } from '../helpers/context.ts';
import { writeRoutesFile } from '../helpers/forward-routes.ts';
import { awaitTerminal } from '../helpers/submit.ts';
import { expectProblem } from '../helpers/problem.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { startUpstreamServer, type UpstreamServer } from '../helpers/upstream-server.ts';

const BYTE_BUDGET = 1024 * 1024;
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('hostile JSON bodies: depth, size in values, I-JSON (forward routes, real upstream and worker)', () => {
  let upstream: UpstreamServer;
  let ctx: TestContext;
  let app: FastifyInstance;
  let routesFile: Awaited<ReturnType<typeof writeRoutesFile>>;

  beforeAll(async () => {
    upstream = await startUpstreamServer();
    const route = { timeoutMs: 2_000, maxAttempts: 3, retryBaseMs: 50, retryMaxMs: 200 };
    routesFile = await writeRoutesFile([
      { name: 'orders.create', route: '/v1/orders', upstream: `${upstream.url}/orders`, ...route },
      { name: 'flat.create', route: '/v1/flat', upstream: `${upstream.url}/flat`, maxBodyDepth: 2, maxBodyNodes: 5, ...route },
    ]);
    // an operation whose own depth limit lets through what Postgres refuses
    const deep = defineOperation({
      name: 'deep.store',
      route: '/v1/deep',
      summary: 'stores anything',
      input: Type.Unknown(),
      jsonLimits: { maxDepth: 50_000, maxNodes: 100_000 },
      handle: async () => null,
    });
    ctx = await createTestContext(
      { FORWARD_ROUTES_FILE: routesFile.path, RATE_LIMIT_BYTES_PER_MINUTE: String(BYTE_BUDGET) },
      { operations: [deep] },
    );
    app = await ctx.startApi();
    await ctx.startWorker();
  });
  beforeEach(() => upstream.behave(() => ({ status: 201 })));
  afterAll(async () => {
    await ctx.close();
    await upstream.close();
    await routesFile.remove();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  const post = (url: string, raw: string, tenant: keyof typeof TENANTS = 'acme', key = randomUUID()) =>
    app.inject({
      method: 'POST',
      url,
      headers: { ...auth(tenant), 'idempotency-key': key, 'content-type': 'application/json' },
      payload: raw,
    });

  it('a body nested 20,000 levels is refused with 400 body-too-deep, naming the limit, and nothing is recorded', async () => {
    const res = await post('/v1/orders', nested(20_000));
    const problem = expectProblem(res, 400, 'body-too-deep');
    expect(problem.detail).toContain('64 levels');
    expect(problem.errors[0].pointer).toMatch(/^#(\/0){64}$/);
    const rows = await ctx.db.selectFrom('idemq.requests').select('id').execute();
    expect(rows).toHaveLength(0);
  });

  it('a hostile row among good ones of another tenant fails alone with 400; the others are accepted', async () => {
    const good = Array.from({ length: 20 }, (_, i) => post('/v1/orders', JSON.stringify({ sku: 'tea', n: i }), 'globex'));
    const hostile = post('/v1/orders', `{"sku":${nested(20_000)}}`, 'acme');
    const [bad, ...answers] = await Promise.all([hostile, ...good]);
    expectProblem(bad!, 400, 'body-too-deep');
    expect(answers.map((r) => r.statusCode)).toEqual(answers.map(() => 202));
  });

  it('a body Postgres refuses for its content (beyond a route that allows 50,000 levels) fails alone with 400 unstorable-body, beside good rows of another tenant', async () => {
    const good = Array.from({ length: 20 }, (_, i) => post('/v1/deep', JSON.stringify({ n: i }), 'globex'));
    const [bad, ...answers] = await Promise.all([post('/v1/deep', nested(20_000), 'acme'), ...good]);
    expectProblem(bad!, 400, 'unstorable-body');
    expect(answers.map((r) => r.statusCode)).toEqual(answers.map(() => 202));
  });

  it.each([
    ['an integer beyond 2^53', '{"sku":"tea","quantity":9007199254740993}', '#/quantity'],
    ['a number beyond a double', '{"x":1e400}', '#/x'],
    ['a key twice', '{"sku":"tea","sku":"coffee"}', '#/sku'],
  ])('%s is refused with 400 not-i-json: not recorded, so never forwarded altered', async (_, raw, pointer) => {
    const key = randomUUID();
    const problem = expectProblem(await post('/v1/orders', raw, 'acme', key), 400, 'not-i-json');
    expect(problem.errors[0].pointer).toBe(pointer);
    expect(await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', key).execute()).toHaveLength(0);
  });

  it('1E2 and 2^53 − 1 are I-JSON: accepted and forwarded as the same values', async () => {
    const key = randomUUID();
    const res = await post('/v1/orders', '{"a":1E2,"b":9007199254740991,"c":-9007199254740991}', 'acme', key);
    expect(res.statusCode, res.body).toBe(202);
    expect((await awaitTerminal(app, res.json().id)).status).toBe('succeeded');
    expect(upstream.attemptsOf(upstreamKeyFor('acme', key))[0]!.body).toEqual({ a: 100, b: 9007199254740991, c: -9007199254740991 });
  });

  it('a 1 MB body of 65,000 keys is refused with 400 body-too-complex', async () => {
    const raw = JSON.stringify(Object.fromEntries(Array.from({ length: 65_000 }, (_, i) => [`k${i}`, i])));
    expect(raw.length).toBeGreaterThan(900_000);
    const problem = expectProblem(await post('/v1/orders', raw), 400, 'body-too-complex');
    expect(problem.detail).toContain('10000 values');
  });

  it("a forward route's own maxBodyDepth and maxBodyNodes replace the defaults", async () => {
    expect((await post('/v1/flat', '{"a":[1,2]}')).statusCode).toBe(202);
    expectProblem(await post('/v1/flat', '{"a":[[1]]}'), 400, 'body-too-deep');
    expectProblem(await post('/v1/flat', '[1,2,3,4,5]'), 400, 'body-too-complex');
    expect((await post('/v1/orders', '{"a":[[1]]}')).statusCode).toBe(202);
  });

  it("an upstream's 2xx answer nested 100,000 levels is stored as its text: succeeded after one call", async () => {
    const deep = nested(100_000);
    upstream.behave(() => ({ status: 200, headers: { 'content-type': 'application/json' }, body: deep }));
    const key = randomUUID();
    const res = await post('/v1/orders', '{"sku":"tea"}', 'acme', key);
    expect(res.statusCode, res.body).toBe(202);
    const done = await awaitTerminal(app, res.json().id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.result.status).toBe(200);
    expect(done.result.body).toBe(deep);
    expect(upstream.attemptsOf(upstreamKeyFor('acme', key))).toHaveLength(1);
  });

  it("a tenant's byte budget: bodies beyond it answer 429 byte-rate-limited with Retry-After, nothing recorded; another tenant is not held back", async () => {
    const body = JSON.stringify({ sku: 'tea', note: 'x'.repeat(300_000) });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post('/v1/orders', body, 'globex'));
    expect(answers.map((r) => r.statusCode)).toEqual([202, 202, 202, 429]);
    expect(answers[0]!.headers['ratelimit-policy']).toBe(`"tenant";q=1000000;w=60, "bytes";q=${BYTE_BUDGET};w=60`);
    const refused = expectProblem(answers[3]!, 429, 'byte-rate-limited');
    expect(refused.detail).toContain(`${BYTE_BUDGET} bytes`);
    expect(Number(answers[3]!.headers['retry-after'])).toBeGreaterThan(0);
    const recorded = await ctx.db
      .selectFrom('idemq.requests')
      .select('id')
      .where('tenant_id', '=', 'globex')
      .where('payload', '@>', JSON.stringify({ note: 'x'.repeat(300_000) }) as never)
      .execute();
    expect(recorded).toHaveLength(3);
    expect((await post('/v1/orders', body, 'acme')).statusCode).toBe(202);
  });
});
