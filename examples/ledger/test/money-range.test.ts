import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type TestContext } from '../../../test/helpers/context.ts';
import { processBatchNow, submit } from '../../../test/helpers/submit.ts';
import { createLedgerContext, openAccountNow, paymentsOf } from './ledger-seed.ts';

const MAX = Number.MAX_SAFE_INTEGER; // 2^53 - 1

describe('amounts and balances up to 2^53 - 1', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createLedgerContext();
    app = await ctx.startApi();
  });
  afterAll(() => ctx?.close());

  it('never reads an int8 beyond the safe range as an inexact number: it throws, naming the value', async () => {
    const exact = await sql<{ n: number }>`select 9007199254740991::int8 as n, -9007199254740991::int8 as m`.execute(ctx.db);
    expect(exact.rows[0]).toEqual({ n: MAX, m: -MAX });
    await expect(sql`select 9007199254740993::int8 as n`.execute(ctx.db)).rejects.toThrow(/9007199254740993/);
    await expect(sql`select -9007199254740993::int8 as n`.execute(ctx.db)).rejects.toThrow(/-9007199254740993/);
  });

  it('refuses at once a payment that would take a balance past 2^53 - 1 (balance_limit_exceeded), writing nothing; the rest of its batch succeeds', async () => {
    const [a, b] = [await openAccountNow(ctx, app, MAX), await openAccountNow(ctx, app, MAX)];
    const [c, d] = [await openAccountNow(ctx, app, 100), await openAccountNow(ctx, app, 0)];
    const [e, f] = [await openAccountNow(ctx, app, MAX), await openAccountNow(ctx, app, 0)];
    const pay = async (fromAccount: string, toAccount: string, amount: number) =>
      (await submit(app, '/v1/payments', { fromAccount, toAccount, amount, currency: 'USD' })).json().id as string;
    const over = await pay(a, b, 1);
    const ok1 = await pay(c, d, 30);
    // a batch runs in id order: the others touch neither a nor b
    const ok2 = await pay(e, f, 5);

    const results = await processBatchNow(ctx, [over, ok1, ok2]);
    expect(results[0]).toMatchObject({ kind: 'completed', row: { status: 'failed', error: { code: 'balance_limit_exceeded' } } });
    expect(results[1]).toMatchObject({ kind: 'completed', row: { status: 'succeeded' } });
    expect(results[2]).toMatchObject({ kind: 'completed', row: { status: 'succeeded', result: { fromBalance: MAX - 5, toBalance: 5 } } });

    const balance = async (id: string) => (await app.inject({ url: `/v1/accounts/${id}`, headers: auth() })).json().balance;
    expect([await balance(a), await balance(b), await balance(c), await balance(d), await balance(e), await balance(f)]).toEqual([
      MAX,
      MAX,
      70,
      30,
      MAX - 5,
      5,
    ]);
    const exact = await sql<{
      id: string;
      balance: string;
    }>`select id, balance::text as balance from ledger.accounts where id in (${a}, ${b})`.execute(ctx.db);
    expect(Object.fromEntries(exact.rows.map((r) => [r.id, r.balance]))).toEqual({ [a]: '9007199254740991', [b]: '9007199254740991' });
    expect(await paymentsOf(ctx, over)).toBe(0);
  });

  it('Postgres itself keeps every balance within the range', async () => {
    const a = await openAccountNow(ctx, app, MAX);
    await expect(sql`update ledger.accounts set balance = balance + 1 where id = ${a}`.execute(ctx.db)).rejects.toMatchObject({
      code: '23514',
    });
  });
});
