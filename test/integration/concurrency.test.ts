import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { createItem, fixtureDb } from '../helpers/items.ts';
import { awaitTerminal, submit } from '../helpers/submit.ts';
import { inspectQueue } from '../helpers/queue.ts';

const N = 200;

describe('one key submitted many times at once', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let inspector: ReturnType<typeof inspectQueue>;
  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
    await ctx.startWorker();
    inspector = inspectQueue(ctx.config.queuePrefix);
  });
  afterAll(async () => {
    await inspector?.close();
    await ctx?.close();
  });

  const jobsFor = async (requestId: string) => {
    const jobs = (
      await Promise.all(
        inspector.queues.shards.map((q) => q.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'])),
      )
    ).flat();
    return jobs.filter((job) => job.data.requestId === requestId);
  };

  it(`records ${N} concurrent POSTs of one key once: one row, one job, one item, one id`, async () => {
    const a = await createItem(app, 100_000);
    const body = { name: 'item', quantity: 1_000, takeFrom: a };

    const answers = await Promise.all(Array.from({ length: N }, () => submit(app, '/v1/items', body, { key: 'stampede' })));

    expect(answers.map((r) => r.statusCode)).toEqual(Array(N).fill(202));
    const id: string = answers[0]!.json().id;
    expect(new Set(answers.map((r) => r.json().id))).toEqual(new Set([id]));
    expect(new Set(answers.map((r) => r.headers.location))).toEqual(new Set([`/v1/requests/${id}`]));
    // exactly one of them recorded the key; every other one is a replay
    expect(answers.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);

    const rows = await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', 'stampede').execute();
    expect(rows).toEqual([{ id }]);
    const done = await awaitTerminal(app, id);
    expect(done.status).toBe('succeeded');
    expect(await jobsFor(id)).toHaveLength(1);
    expect(await fixtureDb(ctx).selectFrom('fixture.items').select('id').where('request_id', '=', id).execute()).toHaveLength(1);
    const quantities = await fixtureDb(ctx)
      .selectFrom('fixture.items')
      .select('quantity')
      .where((eb) => eb.or([eb('id', '=', a), eb('request_id', '=', id)]))
      .orderBy('quantity')
      .execute();
    expect(quantities.map((r) => Number(r.quantity))).toEqual([1_000, 99_000]);
  });

  it('records one key once across two API instances, where only Postgres can tell them apart', async () => {
    // each instance shares in-process work among identical calls; across instances only the unique key decides
    const other = await ctx.startApi();
    const a = await createItem(app, 100_000);
    const body = { name: 'item', quantity: 10, takeFrom: a };

    const answers = await Promise.all(
      Array.from({ length: N }, (_, i) => submit(i % 2 ? app : other, '/v1/items', body, { key: 'two-instances' })),
    );

    expect(answers.map((r) => r.statusCode)).toEqual(Array(N).fill(202));
    const id: string = answers[0]!.json().id;
    expect(new Set(answers.map((r) => r.json().id))).toEqual(new Set([id]));
    expect(answers.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect((await awaitTerminal(app, id)).status).toBe('succeeded');
    expect(await jobsFor(id)).toHaveLength(1);
    expect(await fixtureDb(ctx).selectFrom('fixture.items').select('id').where('request_id', '=', id).execute()).toHaveLength(1);
  });

  it('lets one body win a race of two bodies under one key; every other body is refused', async () => {
    const a = await createItem(app, 100_000);
    const bodies = [100, 200].map((amount) => ({ name: 'item', quantity: amount, takeFrom: a }));

    const answers = await Promise.all(Array.from({ length: N }, (_, i) => submit(app, '/v1/items', bodies[i % 2], { key: 'race' })));

    const accepted = answers.filter((r) => r.statusCode === 202);
    const refused = answers.filter((r) => r.statusCode === 422);
    expect(accepted.length + refused.length).toBe(N);
    expect(new Set(accepted.map((r) => r.json().id)).size).toBe(1);
    const row = await ctx.db.selectFrom('idemq.requests').selectAll().where('idempotency_key', '=', 'race').executeTakeFirstOrThrow();
    expect(accepted[0]!.json().id).toBe(row.id);
    const winner = (row.payload as { quantity: number }).quantity;
    // every answer for the winning body was accepted, every answer for the other refused
    answers.forEach((r, i) => expect(r.statusCode).toBe(bodies[i % 2]!.quantity === winner ? 202 : 422));
    expect((await awaitTerminal(app, row.id)).result.quantity).toBe(winner);
    expect(await jobsFor(row.id)).toHaveLength(1);
  });
});
