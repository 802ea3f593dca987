import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processRequests } from '../../workers/process-batch.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { fixtureDb, insertItem, item, ITEMS, itemsOf, madeBy, quantityOf } from '../helpers/items.ts';
import { submit } from '../helpers/submit.ts';

describe('processRequests: many requests in one transaction', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
  });
  afterAll(() => ctx.close());

  /** Submits an item that takes `quantity` out of `source`; returns the request's id. */
  const take = async (source: string, quantity: number) => (await submit(app, ITEMS, item(quantity, source))).json().id as string;

  it('commits each request once, isolates a refusal and a broken request, and runs a repeated id once', async () => {
    // requests of one batch run in id order, not in the order given: each must succeed in any order
    const a = await insertItem(ctx, 100);
    const b = await insertItem(ctx, 20);
    const ok1 = await take(a, 30);
    const refused = await take(a, 1_000);
    const ok2 = await take(b, 10);
    // a request whose effects Postgres refuses (an item row for it exists already, 23505): its own statements fail
    const broken = await take(a, 1);
    await fixtureDb(ctx)
      .insertInto('fixture.items')
      .values({ tenant_id: 'acme', request_id: broken, name: 'planted', quantity: 1 })
      .execute();

    const results = await processRequests(ctx.db, [ok1, refused, broken, ok2, ok1], ctx.find);
    expect(results[0]).toMatchObject({ kind: 'completed', row: { status: 'succeeded' } });
    expect(results[1]).toMatchObject({ kind: 'completed', row: { status: 'failed', error: { code: 'insufficient_quantity' } } });
    expect(results[2]).toBeInstanceOf(Error);
    expect(results[3]).toMatchObject({ kind: 'completed', row: { status: 'succeeded' } });
    expect(results[4]).toMatchObject({ kind: 'completed', row: { id: ok1 } });
    expect([await quantityOf(ctx, a), await quantityOf(ctx, b)]).toEqual([70, 10]);
    expect((await ctx.db.selectFrom('idemq.requests').select('status').where('id', '=', broken).executeTakeFirstOrThrow()).status).toBe(
      'processing',
    );

    const again = await processRequests(ctx.db, [ok1, refused, ok2], ctx.find);
    expect(again.map((r) => (r instanceof Error ? 'error' : r.kind))).toEqual(['already-terminal', 'already-terminal', 'already-terminal']);
    expect(await fixtureDb(ctx).selectFrom('fixture.items').select('id').where('request_id', 'in', [ok1, ok2]).execute()).toHaveLength(2);
  });

  it('ends a request whose stored payload no longer fits its schema as failed (invalid_payload) at once, without failing its batch', async () => {
    const a = await insertItem(ctx, 100);
    const before = await take(a, 10);
    const after = await take(a, 20);
    // stored by an older release, or written by other means: an id that is no uuid, and a field the schema does not know
    const stale = await Promise.all(
      [item(1, 'nope'), { ...item(1, a), memo: 'x' }].map(async (payload, i) => {
        const { id } = await ctx.db
          .insertInto('idemq.requests')
          .values({
            tenant_id: 'acme',
            idempotency_key: `stale-${i}`,
            fingerprint: 'x',
            operation: 'items.create',
            payload: JSON.stringify(payload),
            retention_seconds: 60,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        return id;
      }),
    );
    const results = await processRequests(ctx.db, [before, ...stale, after], ctx.find);
    expect(results[0]).toMatchObject({ kind: 'completed', row: { status: 'succeeded' } });
    for (const r of results.slice(1, 3)) {
      expect(r).toMatchObject({ kind: 'completed', row: { status: 'failed', error: { code: 'invalid_payload' } } });
    }
    expect((results[1] as { row: { error: { message: string } } }).row.error.message).toMatch(/takeFrom/);
    expect((results[2] as { row: { error: { message: string } } }).row.error.message).toMatch(/memo|additional/i);
    expect(results[3]).toMatchObject({ kind: 'completed', row: { status: 'succeeded' } });
    expect([await quantityOf(ctx, a), (await madeBy(ctx, before)) + (await madeBy(ctx, after))]).toEqual([70, 30]);
    for (const id of stale) expect(await itemsOf(ctx, id)).toBe(0);
  });

  it('runs a batch of items in one call, each seeing the quantity the one before left, a refusal writing nothing', async () => {
    const a = await insertItem(ctx, 50);
    const theirs = await insertItem(ctx, 10, { tenant: 'globex' });
    // whichever of the first two runs first (id order) leaves too little for the other
    const ids = [await take(a, 30), await take(a, 30), await take(theirs, 10)];
    const results = await processRequests(ctx.db, ids, ctx.find);
    const outcome = (r: (typeof results)[number]) =>
      r instanceof Error || r.kind !== 'completed'
        ? 'unexpected'
        : r.row.status === 'succeeded'
          ? 'succeeded'
          : (r.row.error?.code ?? 'no code');
    expect(results.slice(0, 2).map(outcome).sort()).toEqual(['insufficient_quantity', 'succeeded']);
    expect(outcome(results[2]!)).toBe('item_not_found');
    expect([await quantityOf(ctx, a), await quantityOf(ctx, theirs)]).toEqual([20, 10]);
    expect(await fixtureDb(ctx).selectFrom('fixture.items').select('id').where('request_id', 'in', ids).execute()).toHaveLength(1);
  });

  it('runs overlapping batches at once without deadlock, and moves every unit once', async () => {
    const sources = await Promise.all(Array.from({ length: 6 }, () => insertItem(ctx, 1_000)));
    const ids: string[] = [];
    for (let i = 0; i < 120; i++) ids.push(await take(sources[(i * 5 + 1) % 6]!, 1 + (i % 7)));
    const batches = Array.from({ length: 6 }, (_, k) => ids.filter((_, i) => i % 6 === k).reverse());
    const results = (await Promise.all(batches.map((batch) => processRequests(ctx.db, batch, ctx.find)))).flat();
    expect(results.every((r) => !(r instanceof Error) && r.kind === 'completed' && r.row.status === 'succeeded')).toBe(true);
    const left = (await Promise.all(sources.map((source) => quantityOf(ctx, source)))).reduce((x, y) => x + y, 0);
    const made = (await Promise.all(ids.map((id) => madeBy(ctx, id)))).reduce((x, y) => x + y, 0);
    expect(left + made).toBe(6_000);
    expect(await fixtureDb(ctx).selectFrom('fixture.items').select('id').where('request_id', 'in', ids).execute()).toHaveLength(120);
  });

  it('writes the events of a batch as one outbox row per status change, holding every request event', async () => {
    const a = await insertItem(ctx, 100);
    const ids = [await take(a, 1), await take(a, 2), await take(a, 3), await take(a, 4), await take(a, 5)];
    const before = await ctx.db.selectFrom('idemq.outbox').select('id').orderBy('id', 'desc').executeTakeFirst();
    await processRequests(ctx.db, ids, ctx.find);
    const rows = await ctx.db
      .selectFrom('idemq.outbox')
      .select(['request_id', 'payload'])
      .where('id', '>', before?.id ?? '0')
      .orderBy('id')
      .execute();
    // processing, then the completion: two inserts and two deletes for the relay, whatever the batch size
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.request_id)).toEqual([null, null]);
    for (const [i, status] of ['processing', 'succeeded'].entries()) {
      const events = [rows[i]!.payload].flat();
      expect(events.map((e) => e.requestId).sort()).toEqual([...ids].sort());
      expect(events.every((e) => e.status === status && e.tenantId === 'acme')).toBe(true);
    }
  });
});
