import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, TENANTS, type TestContext } from '../../../test/helpers/context.ts';
import { expectProblem } from '../../../test/helpers/problem.ts';
import { createLedgerContext, openAccountNow } from './ledger-seed.ts';

describe('GET /v1/accounts/{id}', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let ours: string;
  let theirs: string;
  beforeAll(async () => {
    ctx = await createLedgerContext();
    app = await ctx.startApi();
    ours = await openAccountNow(ctx, app, 1_234, { currency: 'EUR' });
    theirs = await openAccountNow(ctx, app, 99, { tenant: 'globex' });
  });
  afterAll(() => ctx.close());

  const get = (id: string, tenant: 'acme' | 'globex' = 'acme') => app.inject({ url: `/v1/accounts/${id}`, headers: auth(tenant) });

  it('shows the tenant its own account with its balance', async () => {
    const res = await get(ours);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: ours, currency: 'EUR', balance: 1_234, name: null });
    expect(Date.parse(res.json().createdAt)).not.toBeNaN();
  });

  it("answers 404 for another tenant's account, in both directions, like an unknown one", async () => {
    const hidden = expectProblem(await get(theirs, 'acme'), 404, 'not-found');
    expectProblem(await get(ours, 'globex'), 404, 'not-found');
    expectProblem(await get(randomUUID()), 404, 'not-found');
    // (no "99": a uuid in the detail may contain those digits by chance)
    expect(JSON.stringify(hidden)).not.toMatch(/globex|"balance"/);
    expect((await get(theirs, 'globex')).json().balance).toBe(99);
  });

  it.each(['abc', 'not-a-uuid', `${randomUUID()}0`, `${randomUUID().slice(0, -1)}z`])(
    'answers 404 for the malformed id %j',
    async (bad) => {
      expectProblem(await get(bad), 404, 'not-found');
    },
  );

  it('answers 401 without a valid bearer, before looking anything up', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope_nope_nope' }, { authorization: `Token ${TENANTS.acme.secret}` }]) {
      const res = await app.inject({ url: `/v1/accounts/${ours}`, headers });
      expectProblem(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.body).not.toContain('1234');
    }
  });
});
