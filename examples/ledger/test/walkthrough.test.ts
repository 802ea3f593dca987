import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { auth, type TestContext } from '../../../test/helpers/context.ts';
import { awaitTerminal, submit } from '../../../test/helpers/submit.ts';
import { createLedgerContext, ledgerDb, openAccount } from './ledger-seed.ts';

describe('the walk-through of docs/walkthrough.md', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createLedgerContext();
    app = await ctx.startApi();
    await ctx.startWorker();
  });
  afterAll(() => ctx.close());

  it('pays once, refuses a changed body, replays the same id, and moves balances once', async () => {
    const a = await openAccount(app, 10_000);
    const b = await openAccount(app, 0);
    const payment = { fromAccount: a, toAccount: b, amount: 2_500, currency: 'USD' };

    const first = await submit(app, '/v1/payments', payment, { key: 'pay-1' });
    expect(first.statusCode).toBe(202);
    const { id } = first.json();
    expect(first.headers.location).toBe(`/v1/requests/${id}`);

    const changed = await submit(app, '/v1/payments', { ...payment, amount: 2_600 }, { key: 'pay-1' });
    expect(changed.statusCode).toBe(422);
    expect(changed.json().type).toMatch(/idempotency-key-reused$/);

    const again = await submit(app, '/v1/payments', { currency: 'USD', amount: 2_500, toAccount: b, fromAccount: a }, { key: 'pay-1' });
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(id);

    const done = await awaitTerminal(app, id);
    expect(done.status).toBe('succeeded');
    expect(done.result.amount).toBe(2_500);

    const balances = await Promise.all(
      [a, b].map(async (acc) => (await app.inject({ url: `/v1/accounts/${acc}`, headers: auth() })).json().balance),
    );
    expect(balances).toEqual([7_500, 2_500]);
    const payments = await ledgerDb(ctx).selectFrom('ledger.payments').selectAll().execute();
    expect(payments).toHaveLength(1);
  });
});
