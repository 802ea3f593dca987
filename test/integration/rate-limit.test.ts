import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { countRequests, submit } from '../helpers/submit.ts';
import { expectProblem } from '../helpers/problem.ts';

const body = { name: 'item', quantity: 1 };

describe('rate limit (RATE_LIMIT_PER_MINUTE=3)', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: '3' });
    app = await ctx.startApi();
  });
  afterAll(() => ctx.close());

  it('answers 429 problem+json with Retry-After, records nothing, and limits each tenant on its own', async () => {
    const first = await submit(app, '/v1/items', body, { key: 'limited' });
    expect(first.statusCode).toBe(202);
    // a replay counts like any call
    expect((await submit(app, '/v1/items', body, { key: 'limited' })).statusCode).toBe(202);
    expect((await submit(app, '/v1/items', body)).statusCode).toBe(202);
    const before = await countRequests(ctx);

    const limited = await submit(app, '/v1/items', body, { key: 'over-the-limit' });
    expectProblem(limited, 429, 'rate-limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const replayLimited = await submit(app, '/v1/items', body, { key: 'limited' });
    expectProblem(replayLimited, 429, 'rate-limited');
    expect(await countRequests(ctx)).toBe(before);

    const otherTenant = await submit(app, '/v1/items', body, { key: 'limited', tenant: 'globex' });
    expect(otherTenant.statusCode).toBe(202);
  });

  it('refuses before the body is read: an oversized or wrongly typed body over the limit answers 429, not 413 or 415', async () => {
    const huge = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { ...auth(), 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
      payload: 'x'.repeat(2 * 1024 * 1024),
    });
    expectProblem(huge, 429, 'rate-limited');
    const wrongType = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { ...auth(), 'idempotency-key': randomUUID(), 'content-type': 'text/plain' },
      payload: 'not json',
    });
    expectProblem(wrongType, 429, 'rate-limited');
  });
});

describe('rate limit shared by two API instances (RATE_LIMIT_PER_MINUTE=10)', () => {
  const LIMIT = 10;
  let ctx: TestContext;
  let apps: FastifyInstance[];
  beforeAll(async () => {
    ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    apps = [await ctx.startApi(), await ctx.startApi()];
  });
  afterAll(() => ctx.close());

  const read = (app: FastifyInstance, tenant: 'acme' | 'globex' = 'acme') =>
    app.inject({ url: `/v1/requests/${randomUUID()}`, headers: auth(tenant) });

  it('lets a tenant make N calls across both instances, not 2N, with the IETF RateLimit fields on every answer', async () => {
    const answers = [];
    for (let i = 0; i < 3 * LIMIT; i++) answers.push(await read(apps[i % 2]!));
    const passed = answers.filter((r) => r.statusCode !== 429);
    expect(passed).toHaveLength(LIMIT);
    expect(passed.every((r) => r.statusCode === 404)).toBe(true);
    // both instances served some of the budget and refused the rest
    expect(new Set(answers.slice(0, LIMIT).map((_, i) => i % 2))).toEqual(new Set([0, 1]));

    answers.forEach((r) => expect(r.headers['ratelimit-policy']).toBe(`"tenant";q=${LIMIT};w=60`));
    // the remaining count falls with each call, whichever instance answers it
    expect(passed.map((r) => /r=(\d+)/.exec(String(r.headers.ratelimit))![1]).map(Number)).toEqual(
      Array.from({ length: LIMIT }, (_, i) => LIMIT - 1 - i),
    );
    const refused = answers.at(-1)!;
    const problem = expectProblem(refused, 429, 'rate-limited');
    expect(problem.detail).toMatch(/API key/);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.ratelimit).toBe(`"tenant";r=0;t=${retryAfter}`);
  });

  it("does not spend another tenant's budget", async () => {
    const other = await read(apps[1]!, 'globex');
    expect(other.statusCode).toBe(404);
    expect(other.headers.ratelimit).toMatch(new RegExp(`^"tenant";r=${LIMIT - 1};t=\\d+$`));
  });
});

describe('a larger budget taken in leases by two instances (RATE_LIMIT_PER_MINUTE=500)', () => {
  const LIMIT = 500;
  let ctx: TestContext;
  let apps: FastifyInstance[];
  beforeAll(async () => {
    ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    apps = [await ctx.startApi(), await ctx.startApi()];
  });
  afterAll(() => ctx.close());

  it('admits no more than the budget across both, and loses at most one lease per instance', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 100; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, j) => apps[(i + j) % 2]!.inject({ url: `/v1/requests/${randomUUID()}`, headers: auth() })),
      );
      statuses.push(...batch.map((r) => r.statusCode));
    }
    const admitted = statuses.filter((s) => s === 404).length;
    expect(admitted).toBeLessThanOrEqual(LIMIT);
    // a lease is a hundredth of the budget
    expect(admitted).toBeGreaterThanOrEqual(LIMIT - 2 * (LIMIT / 100));
    expect(statuses.filter((s) => s !== 404).every((s) => s === 429)).toBe(true);
  });
});

describe('limits per client address (RATE_LIMIT_PER_ADDRESS_PER_MINUTE=5)', () => {
  const LIMIT = 5;
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext({ RATE_LIMIT_PER_ADDRESS_PER_MINUTE: String(LIMIT), RATE_LIMIT_PER_MINUTE: '100' });
    app = await ctx.startApi();
  });
  afterAll(() => ctx.close());

  const guess = (remoteAddress: string, authorization = 'Bearer sk_guess_0123456789') =>
    app.inject({ url: `/v1/requests/${randomUUID()}`, headers: { authorization }, remoteAddress });

  it("counts failed authentication against the caller's address: 401 up to the limit, then 429; another address is not limited", async () => {
    const answers = [];
    for (let i = 0; i < LIMIT + 3; i++) answers.push(await guess('192.0.2.10', i % 2 ? `Bearer ${'x'.repeat(20)}` : 'Basic abc'));
    expect(answers.slice(0, LIMIT).map((r) => r.statusCode)).toEqual(Array(LIMIT).fill(401));
    for (const r of answers.slice(LIMIT)) {
      const problem = expectProblem(r, 429, 'rate-limited');
      expect(problem.detail).toMatch(/address/);
      expect(r.headers['ratelimit-policy']).toBe(`"address";q=${LIMIT};w=60`);
    }
    expect(answers[0]!.headers.ratelimit).toMatch(new RegExp(`^"address";r=${LIMIT - 1};`));
    // a missing header is a failed authentication too
    expectProblem(await app.inject({ url: '/v1/requests/x', remoteAddress: '192.0.2.10' }), 429, 'rate-limited');

    expectProblem(await guess('192.0.2.11'), 401, 'unauthorized');
  });

  it('costs the attacker, not the tenant: the tenant a guess aims at keeps its whole budget, even from the limited address', async () => {
    const own = await app.inject({ url: `/v1/requests/${randomUUID()}`, headers: auth(), remoteAddress: '192.0.2.10' });
    expect(own.statusCode).toBe(404);
    expect(own.headers.ratelimit).toMatch(/^"tenant";r=99;/);
  });

  it('limits the open routes (readiness and liveness; metrics and documents live on the admin port) per address, on one budget', async () => {
    const from = '198.51.100.7';
    for (let i = 0; i < LIMIT - 1; i++) expect((await app.inject({ url: '/readyz', remoteAddress: from })).statusCode).toBe(200);
    expect((await app.inject({ url: '/healthz', remoteAddress: from })).statusCode).toBe(200);
    expectProblem(await app.inject({ url: '/readyz', remoteAddress: from }), 429, 'rate-limited');
    expectProblem(await app.inject({ url: '/healthz', remoteAddress: from }), 429, 'rate-limited');
    expect((await app.inject({ url: '/readyz', remoteAddress: '198.51.100.8' })).statusCode).toBe(200);
  });

  it('groups IPv6 clients by /64: rotating the low bits does not buy a new budget', async () => {
    for (let i = 1; i <= LIMIT; i++)
      expect((await app.inject({ url: '/readyz', remoteAddress: `2001:db8:1:2::${i}` })).statusCode).toBe(200);
    expectProblem(await app.inject({ url: '/readyz', remoteAddress: '2001:db8:1:2:ffff::9' }), 429, 'rate-limited');
    expect((await app.inject({ url: '/readyz', remoteAddress: '2001:db8:1:3::1' })).statusCode).toBe(200);
  });
});

describe('X-Forwarded-For (TRUSTED_PROXIES=10.1.0.0/16, RATE_LIMIT_PER_ADDRESS_PER_MINUTE=3)', () => {
  const LIMIT = 3;
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext({ TRUSTED_PROXIES: '10.1.0.0/16', RATE_LIMIT_PER_ADDRESS_PER_MINUTE: String(LIMIT) });
    app = await ctx.startApi();
  });
  afterAll(() => ctx.close());

  const metrics = (remoteAddress: string, forwardedFor: string) =>
    app.inject({ url: '/readyz', remoteAddress, headers: { 'x-forwarded-for': forwardedFor } });

  it('names the client when the peer is a trusted proxy: each forwarded client has its own budget', async () => {
    for (let i = 0; i < LIMIT; i++) expect((await metrics('10.1.2.3', '203.0.113.5')).statusCode).toBe(200);
    expectProblem(await metrics('10.1.9.9', '203.0.113.5'), 429, 'rate-limited');
    expect((await metrics('10.1.2.3', '203.0.113.6')).statusCode).toBe(200);
    // a client cannot prepend an address of its choosing: the proxy appends the one it saw
    expectProblem(await metrics('10.1.2.3', '203.0.113.77, 203.0.113.5'), 429, 'rate-limited');
  });

  it('ignores X-Forwarded-For from any other peer: rotating the header buys nothing', async () => {
    const answers = [];
    for (let i = 0; i < LIMIT + 2; i++) answers.push(await metrics('192.0.2.50', `203.0.113.${100 + i}`));
    expect(answers.map((r) => r.statusCode)).toEqual([...Array(LIMIT).fill(200), 429, 429]);
    expect((await metrics('192.0.2.51', '203.0.113.100')).statusCode).toBe(200);
  });
});
