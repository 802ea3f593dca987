import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProcessResult, processRequest } from '../../workers/process-request.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { createItemNow, fixtureDb, madeBy, quantityOf } from '../helpers/items.ts';
import { submit } from '../helpers/submit.ts';
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

  /** What the source holds now, and what the item the request made holds. */
  const quantities = async (source: string, requestId: string) => [await quantityOf(ctx, source), await madeBy(ctx, requestId)];
  const itemsMadeBy = (requestId: string) =>
    fixtureDb(ctx).selectFrom('fixture.items').selectAll().where('request_id', '=', requestId).execute();
  const eventsOf = async (requestId: string) => (await outboxEventsOf(ctx.db, requestId)).map((e) => e.status);
  const rowOf = (r: ProcessResult | undefined) => {
    if (!r || r.kind === 'missing') throw new Error('expected a row');
    return r.row;
  };
  const submitTake = async (source: string, quantity: number) => {
    const res = await submit(app, '/v1/items', { name: 'item', quantity, takeFrom: source });
    expect(res.statusCode, res.body).toBe(202);
    return res.json().id as string;
  };

  it('commits an item once when two deliveries run at the same time, and once more changes nothing', async () => {
    const a = await createItemNow(ctx, app, 10_000);
    const id = await submitTake(a, 2_500);

    const concurrent = await Promise.all([processRequest(ctx.db, id, ctx.find), processRequest(ctx.db, id, ctx.find)]);
    expect(concurrent.map((r) => r.kind).sort()).toEqual(['already-terminal', 'completed']);
    const terminal = rowOf(concurrent.find((r) => r.kind === 'completed'));
    expect(terminal.status).toBe('succeeded');

    const again = await processRequest(ctx.db, id, ctx.find);
    expect(again.kind).toBe('already-terminal');
    expect(rowOf(again)).toEqual(terminal);

    expect(await itemsMadeBy(id)).toHaveLength(1);
    expect(await quantities(a, id)).toEqual([7_500, 2_500]);
    expect(await eventsOf(id)).toEqual(['processing', 'succeeded']);
  });

  it('serialises many concurrent deliveries of one request to a single commit', async () => {
    const a = await createItemNow(ctx, app, 1_000);
    const id = await submitTake(a, 300);
    const results = await Promise.all(Array.from({ length: 8 }, () => processRequest(ctx.db, id, ctx.find)));
    expect(results.filter((r) => r.kind === 'completed')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'already-terminal')).toHaveLength(7);
    expect(await itemsMadeBy(id)).toHaveLength(1);
    expect(await quantities(a, id)).toEqual([700, 300]);
  });

  it('runs sequential deliveries once: the second is already-terminal and writes nothing', async () => {
    const a = await createItemNow(ctx, app, 500);
    const id = await submitTake(a, 200);
    const first = await processRequest(ctx.db, id, ctx.find);
    expect(first.kind).toBe('completed');
    const second = await processRequest(ctx.db, id, ctx.find);
    expect(second.kind).toBe('already-terminal');
    const row = await ctx.db.selectFrom('idemq.requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(rowOf(second)).toEqual(rowOf(first));
    expect(row).toEqual(rowOf(first));
    expect(await itemsMadeBy(id)).toHaveLength(1);
    expect(await quantities(a, id)).toEqual([300, 200]);
    expect(await eventsOf(id)).toEqual(['processing', 'succeeded']);
  });

  it('stores a business refusal once and rolls back its writes', async () => {
    const a = await createItemNow(ctx, app, 100);
    const id = await submitTake(a, 101);
    const results = await Promise.all([processRequest(ctx.db, id, ctx.find), processRequest(ctx.db, id, ctx.find)]);
    expect(results.map((r) => r.kind).sort()).toEqual(['already-terminal', 'completed']);
    expect((await processRequest(ctx.db, id, ctx.find)).kind).toBe('already-terminal');
    const row = await ctx.db.selectFrom('idemq.requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    expect(row.error?.code).toBe('insufficient_quantity');
    expect(await itemsMadeBy(id)).toHaveLength(0);
    expect(await quantities(a, id)).toEqual([100, 0]);
  });

  it('reports a request that no longer exists as missing', async () => {
    expect(await processRequest(ctx.db, randomUUID(), ctx.find)).toEqual({ kind: 'missing' });
  });
});
