import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/ledger.ts';

describe('API graceful shutdown', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  it('answers held long-polls with the current state at once instead of holding the shutdown up', async () => {
    const app = await ctx.startApi();
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const { id } = (await submit(app, '/v1/accounts', { currency: 'USD', openingBalance: 1 })).json();
    const polls = Array.from({ length: 5 }, () =>
      fetch(`${base}/v1/requests/${id}?wait=60`, { headers: auth() }).then(async (r) => ({ status: r.status, body: (await r.json()) as any })),
    );
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await app.close();
    const answers = await Promise.all(polls);
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const a of answers) expect(a).toMatchObject({ status: 200, body: { id, status: 'queued' } });
  });
});
