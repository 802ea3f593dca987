import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { createItemNow } from '../helpers/items.ts';
import { countRequests, submit } from '../helpers/submit.ts';
import { expectProblem } from '../helpers/problem.ts';

const get = (app: FastifyInstance, url: string, tenant: 'acme' | 'globex' = 'acme') => app.inject({ url, headers: auth(tenant) });

// The BullMQ worker starts only inside the last test: until then every request stays queued.
describe('GET /v1/requests/{id}?wait=N (long-poll)', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let a: string;
  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
    a = await createItemNow(ctx, app, 1_000);
  });
  afterAll(() => ctx.close());

  const submitItem = async () => (await submit(app, '/v1/items', { name: 'item', quantity: 10, takeFrom: a })).json().id as string;

  it('answers the unfinished state once the wait runs out', async () => {
    const id = await submitItem();
    const started = performance.now();
    const res = await get(app, `/v1/requests/${id}?wait=1`);
    const elapsed = performance.now() - started;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'queued' });
    expect(res.headers['retry-after']).toBe('1');
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('does not hold a request of another tenant: 404 at once', async () => {
    const id = await submitItem();
    const started = performance.now();
    expectProblem(await get(app, `/v1/requests/${id}?wait=10`, 'globex'), 404, 'not-found');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('returns within a second of the completion', async () => {
    const id = await submitItem();
    let answeredAt = 0;
    const poll = get(app, `/v1/requests/${id}?wait=10`).then((res) => {
      answeredAt = Date.now();
      return res;
    });
    // the poll must be parked on the status feed before anything can complete the request
    await new Promise((r) => setTimeout(r, 200));
    expect(answeredAt).toBe(0);

    await ctx.startWorker();
    const res = await poll;
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ id, status: 'succeeded', result: { quantity: 10 } });
    expect(res.headers['retry-after']).toBeUndefined();
    // updated_at is the completing transaction's start, so this slightly overstates the delay
    const afterCompletion = answeredAt - Date.parse(body.updatedAt);
    expect(afterCompletion).toBeGreaterThanOrEqual(0);
    expect(afterCompletion).toBeLessThan(1_000);
  });
});

describe('GET /v1/requests/{id}', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let id: string;
  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
    id = (await submit(app, '/v1/items', { name: 'item', quantity: 1 })).json().id;
  });
  afterAll(() => ctx.close());

  it('shows the tenant its own request', async () => {
    const res = await get(app, `/v1/requests/${id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, operation: 'items.create', status: 'queued' });
    expect(res.headers.location).toBe(`/v1/requests/${id}`);
  });

  it("answers 404 for another tenant's request, exactly as for an unknown one", async () => {
    const theirs = expectProblem(await get(app, `/v1/requests/${id}`, 'globex'), 404, 'not-found');
    const unknown = expectProblem(await get(app, `/v1/requests/${randomUUID()}`, 'globex'), 404, 'not-found');
    expect(Object.keys(theirs).sort()).toEqual(Object.keys(unknown).sort());
    expect(JSON.stringify(theirs)).not.toMatch(/items\.create|acme|queued/);
  });

  it.each(['abc', 'not-a-uuid', '12345', `${randomUUID().slice(0, -1)}g`, `${randomUUID()}x`, '%20', 'a'.repeat(64)])(
    'answers 404 for the malformed id %j',
    async (bad) => {
      expectProblem(await get(app, `/v1/requests/${bad}`), 404, 'not-found');
      expectProblem(await get(app, `/v1/requests/${bad}?wait=5`), 404, 'not-found');
    },
  );

  it.each(['61', '-1', 'abc', '1.5', '', 'true', '0x10', '1e1', '5&wait=6'])('refuses ?wait=%s with 400', async (wait) => {
    expectProblem(await get(app, `/v1/requests/${id}?wait=${wait}`), 400, 'invalid-request');
  });

  it('accepts ?wait=0 and ?wait=60, the bounds', async () => {
    expect((await get(app, `/v1/requests/${id}?wait=0`)).statusCode).toBe(200);
    // an unknown id answers at once, so this shows 60 passes validation without waiting a minute
    expectProblem(await get(app, `/v1/requests/${randomUUID()}?wait=60`), 404, 'not-found');
  });

  it.each([
    ['no Authorization header', {}],
    ['an unknown secret', { authorization: 'Bearer sk_test_unknown_0123456789' }],
    ['another scheme', { authorization: 'Basic YWNtZTpzZWNyZXQ=' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('answers 401 to %s', async (_, headers: Record<string, string>) => {
    for (const url of [`/v1/requests/${id}`, `/v1/requests/${id}?wait=5`]) {
      const res = await app.inject({ url, headers });
      expectProblem(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    const before = await countRequests(ctx);
    const post = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { ...headers, 'idempotency-key': 'k', 'content-type': 'application/json' },
      payload: '{"name":"item","quantity":1}',
    });
    expectProblem(post, 401, 'unauthorized');
    expect(await countRequests(ctx)).toBe(before);
  });
});
