import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireOnce } from '../../workers/expiry.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { fixtureDb, insertItem } from '../helpers/items.ts';
import { expireAll, requestRow } from '../helpers/requests.ts';
import { awaitTerminal, submit } from '../helpers/submit.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { waitUntil } from '../helpers/wait-until.ts';

describe('expiry', () => {
  let ctx: TestContext;
  let app: FastifyInstance;

  beforeAll(async () => {
    // the sweep runs only when a test calls it or starts a worker with a short interval
    ctx = await createTestContext({ EXPIRY_INTERVAL_MS: '3600000' });
    app = await ctx.startApi();
  });
  afterAll(async () => {
    await ctx.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  async function countRows(table: 'idemq.requests' | 'idemq.outbox' | 'fixture.items'): Promise<number> {
    const { n } = await fixtureDb(ctx)
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(n);
  }

  it('deletes expired finished records in bounded batches, keeps the app rows, and a reused key starts a new request', async () => {
    const worker = await ctx.startWorker();
    const a = await insertItem(ctx, 1_000);
    const body = { name: 'item', quantity: 10, takeFrom: a };
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await submit(app, '/v1/items', body, { key: `expiring-${i}` });
      ids.push(res.json().id);
    }
    for (const id of ids) expect((await awaitTerminal(app, id)).status).toBe('succeeded');
    await worker.close();
    // an outbox row that the relay has not published yet goes with its record
    await ctx.db
      .insertInto('idemq.outbox')
      .values({ request_id: ids[0]!, payload: JSON.stringify({ requestId: ids[0] }) })
      .execute();
    await expireAll(ctx);

    const batches = [];
    for (;;) {
      const r = await expireOnce(ctx.db, 3);
      batches.push(r.deleted);
      if (!r.more) break;
    }
    expect(batches).toEqual([3, 3, 1]);
    expect(await countRows('idemq.requests')).toBe(0);
    expect(await countRows('idemq.outbox')).toBe(0);
    // the seven items the requests made, and the one they took from
    expect(await countRows('fixture.items')).toBe(8);

    // the key is free again: a new record with a new id, not a replay of the old one
    const again = await submit(app, '/v1/items', body, { key: 'expiring-0' });
    expect(again.statusCode, again.body).toBe(202);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.json().id).not.toBe(ids[0]);
  });

  it('keeps an unfinished record past its expiry: its client holds a 202, so it must still run', async () => {
    await sql`delete from idemq.requests`.execute(ctx.db);
    const a = await insertItem(ctx, 1_000);
    const res = await submit(app, '/v1/items', { name: 'item', quantity: 1, takeFrom: a }, { key: 'stuck' });
    const { id } = res.json();
    await expireAll(ctx);
    expect(await expireOnce(ctx.db, 100)).toEqual({ deleted: 0, more: false });
    expect((await requestRow(ctx, id))?.status).toBe('queued');

    // once it has run, the next sweep takes it
    const worker = await ctx.startWorker();
    await waitUntil('the request to finish', async () => (await requestRow(ctx, id))?.status === 'succeeded');
    await worker.close();
    // its retention counts from completion: kept until that has passed too
    expect(await expireOnce(ctx.db, 100)).toEqual({ deleted: 0, more: false });
    await expireAll(ctx);
    expect(await expireOnce(ctx.db, 100)).toEqual({ deleted: 1, more: false });
  });

  it('runs as a periodic task in the worker processes until every expired record is gone', async () => {
    await sql`delete from idemq.requests`.execute(ctx.db);
    const rows = Array.from({ length: 25 }, (_, i) => ({
      tenant_id: 'acme',
      idempotency_key: `bulk-${i}`,
      fingerprint: 'x',
      operation: 'items.create',
      payload: '{}',
      status: 'succeeded' as const,
      result: 'null',
      retention_seconds: 60,
      expires_at: sql<Date>`now() - interval '1 minute'`,
    }));
    await ctx.db.insertInto('idemq.requests').values(rows).execute();
    const worker = await ctx.startWorker({ EXPIRY_BATCH_SIZE: '4', EXPIRY_INTERVAL_MS: '60000' });
    // a full batch makes the sweep go again at once, so 25 rows go in 7 statements without waiting an interval
    await waitUntil('the sweep to finish', async () => (await countRows('idemq.requests')) === 0, { timeoutMs: 5_000 });
    await worker.close();
  });
});
