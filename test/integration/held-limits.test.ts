import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { expectProblem } from '../helpers/problem.ts';

// No worker runs: every request stays queued, so each wait is held for its whole length.
describe('held long-polls and event streams per tenant (MAX_HELD_PER_TENANT=1)', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    ctx = await createTestContext({ MAX_HELD_PER_TENANT: '1' });
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(() => ctx.close());

  const newRequest = async (tenant: 'acme' | 'globex' = 'acme') =>
    (await submit(app, '/v1/items', { name: 'item', quantity: 1 }, { tenant })).json().id as string;

  it('refuses a second held wait of the tenant with 429 while the first is held; another tenant waits; the slot comes back', async () => {
    const id = await newRequest();
    const first = app.inject({ url: `/v1/requests/${id}?wait=2`, headers: auth() });
    await new Promise((r) => setTimeout(r, 200));

    const second = await app.inject({ url: `/v1/requests/${id}?wait=2`, headers: auth() });
    const problem = expectProblem(second, 429, 'rate-limited');
    expect(problem.detail).toMatch(/long-polls/);
    expect(second.headers['retry-after']).toBe('1');
    // an answer that holds nothing is not limited
    expect((await app.inject({ url: `/v1/requests/${id}`, headers: auth() })).statusCode).toBe(200);

    const events = await fetch(`${base}/v1/requests/${id}/events`, { headers: auth() });
    expect(events.status).toBe(429);
    expect(events.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    // a submit's Prefer: wait is declined, not the request: recorded, answered at once, without Preference-Applied
    const started = performance.now();
    const declined = await submit(app, '/v1/items', { name: 'item', quantity: 2 }, { headers: { prefer: 'wait=2' } });
    expect(declined.statusCode).toBe(202);
    expect(declined.headers['preference-applied']).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1_500);

    const otherTenant = await newRequest('globex');
    const other = app.inject({ url: `/v1/requests/${otherTenant}?wait=1`, headers: auth('globex') });

    expect((await first).statusCode).toBe(200);
    expect((await other).statusCode).toBe(200);
    const afterwards = await app.inject({ url: `/v1/requests/${id}?wait=1`, headers: auth() });
    expect(afterwards.statusCode).toBe(200);
  });

  it('gives the slot of an event stream back when the client goes away', async () => {
    const id = await newRequest();
    const controller = new AbortController();
    const stream = await fetch(`${base}/v1/requests/${id}/events`, { headers: auth(), signal: controller.signal });
    expect(stream.status).toBe(200);
    expect((await fetch(`${base}/v1/requests/${id}/events`, { headers: auth() })).status).toBe(429);
    controller.abort();
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await app.inject({ url: `/v1/requests/${id}?wait=1`, headers: auth() })).statusCode;
    }
    expect(status).toBe(200);
  });
});
