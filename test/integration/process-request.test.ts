import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProcessResult, processRequest } from '../../workers/process-request.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { openAccountNow, submit } from '../helpers/ledger.ts';
import { ledgerDb } from '../helpers/seed.ts';
import { outboxEventsOf } from '../helpers/outbox.ts';

// No BullMQ worker: the test is the only one delivering each request, as often as it likes.
describe('processRequest: one commit per request, however often it is delivered', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
  });
  afterAll(() => ctx.close());

  const balances = async (...ids: string[]) => {
    const rows = await ledgerDb(ctx).selectFrom('ledger.accounts').select(['id', 'balance']).where('id', 'in', ids).execute();
    return ids.map((id) => rows.find((r) => r.id === id)!.balance);
  };
  const paymentsOf = (requestId: string) => ledgerDb(ctx).selectFrom('ledger.payments').selectAll().where('request_id', '=', requestId).execute();
  const eventsOf = async (requestId: string) => (await outboxEventsOf(ctx.db, requestId)).map((e) => e.status);
  const rowOf = (r: ProcessResult | undefined) => {
    if (!r || r.kind === 'missing') throw new Error('expected a row');
    return r.row;
  };
  const submitPayment = async (from: string, to: string, amount: number) => {
    const res = await submit(app, '/v1/payments', { fromAccount: from, toAccount: to, amount, currency: 'USD' });
    expect(res.statusCode, res.body).toBe(202);
    return res.json().id as string;
  };

  it('commits a payment once when two deliveries run at the same time, and once more changes nothing', async () => {
    const [a, b] = [await openAccountNow(ctx, app, 10_000), await openAccountNow(ctx, app, 0)];
    const id = await submitPayment(a, b, 2_500);

    const concurrent = await Promise.all([processRequest(ctx.db, id, ctx.find), processRequest(ctx.db, id, ctx.find)]);
    expect(concurrent.map((r) => r.kind).sort()).toEqual(['already-terminal', 'completed']);
    const terminal = rowOf(concurrent.find((r) => r.kind === 'completed'));
    expect(terminal.status).toBe('succeeded');

    const again = await processRequest(ctx.db, id, ctx.find);
    expect(again.kind).toBe('already-terminal');
    expect(rowOf(again)).toEqual(terminal);

    expect(await paymentsOf(id)).toHaveLength(1);
    expect(await balances(a, b)).toEqual([7_500, 2_500]);
    expect(await eventsOf(id)).toEqual(['processing', 'succeeded']);
  });

  it('serialises many concurrent deliveries of one payment to a single commit', async () => {
    const [a, b] = [await openAccountNow(ctx, app, 1_000), await openAccountNow(ctx, app, 0)];
    const id = await submitPayment(a, b, 300);
    const results = await Promise.all(Array.from({ length: 8 }, () => processRequest(ctx.db, id, ctx.find)));
    expect(results.filter((r) => r.kind === 'completed')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'already-terminal')).toHaveLength(7);
    expect(await paymentsOf(id)).toHaveLength(1);
    expect(await balances(a, b)).toEqual([700, 300]);
  });

  it('runs sequential deliveries once: the second is already-terminal and writes nothing', async () => {
    const [a, b] = [await openAccountNow(ctx, app, 500), await openAccountNow(ctx, app, 0)];
    const id = await submitPayment(a, b, 200);
    const first = await processRequest(ctx.db, id, ctx.find);
    expect(first.kind).toBe('completed');
    const second = await processRequest(ctx.db, id, ctx.find);
    expect(second.kind).toBe('already-terminal');
    const row = await ctx.db.selectFrom('idemq.requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(rowOf(second)).toEqual(rowOf(first));
    expect(row).toEqual(rowOf(first));
    expect(await paymentsOf(id)).toHaveLength(1);
    expect(await balances(a, b)).toEqual([300, 200]);
    expect(await eventsOf(id)).toEqual(['processing', 'succeeded']);
  });

  it('stores a business refusal once and rolls back its writes', async () => {
    const [a, b] = [await openAccountNow(ctx, app, 100), await openAccountNow(ctx, app, 0)];
    const id = await submitPayment(a, b, 101);
    const results = await Promise.all([processRequest(ctx.db, id, ctx.find), processRequest(ctx.db, id, ctx.find)]);
    expect(results.map((r) => r.kind).sort()).toEqual(['already-terminal', 'completed']);
    expect((await processRequest(ctx.db, id, ctx.find)).kind).toBe('already-terminal');
    const row = await ctx.db.selectFrom('idemq.requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    expect(row.error?.code).toBe('insufficient_funds');
    expect(await paymentsOf(id)).toHaveLength(0);
    expect(await balances(a, b)).toEqual([100, 0]);
  });

  it('reports a request that no longer exists as missing', async () => {
    expect(await processRequest(ctx.db, randomUUID(), ctx.find)).toEqual({ kind: 'missing' });
  });
});
