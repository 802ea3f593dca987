import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type TestContext } from '../../../test/helpers/context.ts';
import { awaitTerminal, submit } from '../../../test/helpers/submit.ts';
import { createLedgerContext, openAccount, paymentsOf } from './ledger-seed.ts';

describe('payments.create: business refusals end the request as failed, for good', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createLedgerContext();
    app = await ctx.startApi();
    await ctx.startWorker();
  });
  afterAll(() => ctx.close());

  const balanceOf = async (id: string, tenant: 'acme' | 'globex' = 'acme') =>
    (await app.inject({ url: `/v1/accounts/${id}`, headers: auth(tenant) })).json().balance as number;

  /** Submits, waits for the outcome, then replays the same key: both must show the same failure. */
  async function expectRefusal(body: Record<string, unknown>, code: string) {
    const key = randomUUID();
    const first = await submit(app, '/v1/payments', body, { key });
    expect(first.statusCode, first.body).toBe(202);
    const done = await awaitTerminal(app, first.json().id);
    expect(done.status).toBe('failed');
    expect(done.error.code).toBe(code);
    expect(typeof done.error.message).toBe('string');
    expect(done.result).toBeUndefined();

    const replay = await submit(app, '/v1/payments', body, { key });
    expect(replay.statusCode).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers['retry-after']).toBeUndefined();
    expect(replay.json()).toEqual(done);
    expect(await paymentsOf(ctx, done.id)).toBe(0);
    return done;
  }

  it('insufficient_funds, leaving both balances as they were', async () => {
    const [a, b] = [await openAccount(app, 1_000), await openAccount(app, 50)];
    await expectRefusal({ fromAccount: a, toAccount: b, amount: 1_001, currency: 'USD' }, 'insufficient_funds');
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([1_000, 50]);
  });

  it("account_not_found, for an unknown account and for another tenant's", async () => {
    const a = await openAccount(app, 1_000);
    const theirs = await openAccount(app, 1_000, { tenant: 'globex' });
    await expectRefusal({ fromAccount: a, toAccount: randomUUID(), amount: 1, currency: 'USD' }, 'account_not_found');
    await expectRefusal({ fromAccount: randomUUID(), toAccount: a, amount: 1, currency: 'USD' }, 'account_not_found');
    await expectRefusal({ fromAccount: a, toAccount: theirs, amount: 1, currency: 'USD' }, 'account_not_found');
    await expectRefusal({ fromAccount: theirs, toAccount: a, amount: 1, currency: 'USD' }, 'account_not_found');
    expect([await balanceOf(a), await balanceOf(theirs, 'globex')]).toEqual([1_000, 1_000]);
  });

  it('currency_mismatch, whichever side differs', async () => {
    const [usd, eur, usd2] = [await openAccount(app, 1_000), await openAccount(app, 1_000, { currency: 'EUR' }), await openAccount(app, 0)];
    await expectRefusal({ fromAccount: usd, toAccount: eur, amount: 1, currency: 'USD' }, 'currency_mismatch');
    await expectRefusal({ fromAccount: eur, toAccount: usd, amount: 1, currency: 'EUR' }, 'currency_mismatch');
    await expectRefusal({ fromAccount: usd, toAccount: usd2, amount: 1, currency: 'EUR' }, 'currency_mismatch');
    expect([await balanceOf(usd), await balanceOf(eur), await balanceOf(usd2)]).toEqual([1_000, 1_000, 0]);
  });

  it('same_account, also when the two ids differ only in case', async () => {
    const a = await openAccount(app, 1_000);
    await expectRefusal({ fromAccount: a, toAccount: a, amount: 1, currency: 'USD' }, 'same_account');
    await expectRefusal({ fromAccount: a, toAccount: a.toUpperCase(), amount: 1, currency: 'USD' }, 'same_account');
    expect(await balanceOf(a)).toBe(1_000);
  });

  it('moves exactly the amount when it can, down to a zero balance', async () => {
    const [a, b] = [await openAccount(app, 700), await openAccount(app, 5)];
    const res = await submit(app, '/v1/payments', { fromAccount: a, toAccount: b, amount: 700, currency: 'USD' });
    const done = await awaitTerminal(app, res.json().id);
    expect(done).toMatchObject({ status: 'succeeded', result: { amount: 700, fromBalance: 0, toBalance: 705 } });
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([0, 705]);
  });
});
