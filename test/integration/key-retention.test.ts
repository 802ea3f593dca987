import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdFor } from '../../src/queue/request-queue.ts';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { createItemNow, fixtureDb } from '../helpers/items.ts';
import { awaitTerminal, processNow, submit } from '../helpers/submit.ts';
import { inspectQueue } from '../helpers/queue.ts';

const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

/**
 * Ends a finished request's retention now, as if its TTL had passed: the test moves the clock
 * instead of racing it, so no assertion depends on how fast the machine reached it.
 */
async function endRetention(ctx: TestContext, id: string): Promise<void> {
  await sql`update idemq.requests set expires_at = clock_timestamp() - interval '1 millisecond' where id = ${id}`.execute(ctx.db);
}

// a retention no test outlives: only endRetention ends one
describe('a key past its retention (IDEMPOTENCY_TTL_SECONDS=600)', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let inspector: ReturnType<typeof inspectQueue>;
  beforeAll(async () => {
    // the sweep runs once at start and then not for a minute: the accept path meets the expired record
    ctx = await createTestContext({ IDEMPOTENCY_TTL_SECONDS: '600', EXPIRY_INTERVAL_MS: '60000' });
    app = await ctx.startApi();
    await ctx.startWorker();
    inspector = inspectQueue(ctx.config.queuePrefix);
  });
  afterAll(async () => {
    await inspector?.close();
    await ctx?.close();
  });

  const body = { name: 'item', quantity: 10 };

  it('starts a new request with a new id that completes, while BullMQ still holds the old job', async () => {
    const first = await submit(app, '/v1/items', body, { key: 'retained', headers: { prefer: 'wait=10' } });
    expect(first.statusCode, first.body).toBe(200);
    const old = first.json();
    expect(old.status).toBe('succeeded');
    // kept for the retention from completion
    expect(Date.parse(old.expiresAt) - Date.parse(old.updatedAt)).toBe(600_000);

    // still inside the retention: a replay
    const early = await submit(app, '/v1/items', body, { key: 'retained' });
    expect(early.headers['idempotent-replayed']).toBe('true');
    expect(early.json().id).toBe(old.id);

    await endRetention(ctx, old.id);
    // another API instance: this one keeps the replayed record in its cache until the expiry it read
    const again = await submit(await ctx.startApi(), '/v1/items', body, { key: 'retained' });
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    const fresh = again.json();
    expect(fresh.id).not.toBe(old.id);
    expect(fresh.status).toBe('queued');

    const done = await awaitTerminal(app, fresh.id);
    expect(done.status).toBe('succeeded');
    expect(done.result.itemId).not.toBe(old.result.itemId);
    expect(
      await fixtureDb(ctx).selectFrom('fixture.items').select('id').where('request_id', 'in', [old.id, fresh.id]).execute(),
    ).toHaveLength(2);

    const oldJob = await inspector.queue.getJob(jobIdFor(old.id));
    expect(oldJob?.data.requestId).toBe(old.id);
    expect(await oldJob?.getState()).toBe('completed');
    expect(await inspector.queue.getJob(jobIdFor(fresh.id))).toBeDefined();

    const rows = await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', 'retained').execute();
    expect(rows).toEqual([{ id: fresh.id }]);
    expect((await app.inject({ url: `/v1/requests/${old.id}`, headers: auth() })).statusCode).toBe(404);
  });

  it('forgets the old body too: a different body under an expired key is a new request, not a mismatch', async () => {
    const first = await submit(app, '/v1/items', body, { key: 'retained-2' });
    // retention only ends for a finished request
    const done = await awaitTerminal(app, first.json().id);
    expect(done.status).toBe('succeeded');
    await endRetention(ctx, done.id);
    const other = await submit(app, '/v1/items', { name: 'item', quantity: 1, takeFrom: crypto.randomUUID() }, { key: 'retained-2' });
    expect(other.statusCode, other.body).toBe(202);
    expect(other.json()).toMatchObject({ operation: 'items.create' });
    expect(other.json().id).not.toBe(first.json().id);
  });
});

// No BullMQ worker: the request is still unfinished when its retention runs out.
describe('an unfinished request past its retention', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext({ IDEMPOTENCY_TTL_SECONDS: '1' });
    app = await ctx.startApi();
  });
  afterAll(() => ctx?.close());

  it('keeps its key: a retry replays it and a changed body is refused, so it runs once', async () => {
    const a = await createItemNow(ctx, app, 1_000);
    const body = { name: 'item', quantity: 400, takeFrom: a };
    const first = (await submit(app, '/v1/items', body, { key: 'slow' })).json();
    expect(first.expiresAt).toBeNull();
    await sleepUntil(Date.parse(first.createdAt) + 1_200);

    const retry = await submit(app, '/v1/items', body, { key: 'slow' });
    expect(retry.statusCode, retry.body).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json().id).toBe(first.id);
    expect((await submit(app, '/v1/items', { ...body, quantity: 1 }, { key: 'slow' })).statusCode).toBe(422);

    const done = await processNow(ctx, first.id);
    expect(done.status).toBe('succeeded');
    expect(await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', 'slow').execute()).toEqual([
      { id: first.id },
    ]);
    expect(await fixtureDb(ctx).selectFrom('fixture.items').select('id').where('request_id', 'is not', null).execute()).toHaveLength(2);

    // finished and past its retention, counted from completion: now the key is free again
    await sleepUntil(done.expires_at!.getTime() + 200);
    const later = await submit(app, '/v1/items', body, { key: 'slow' });
    expect(later.statusCode).toBe(202);
    expect(later.json().id).not.toBe(first.id);
  });
});
