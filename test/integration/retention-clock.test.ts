import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { createItemNow, itemsOf } from '../helpers/items.ts';
import { processNow, submit } from '../helpers/submit.ts';
import { holdRowLock } from '../helpers/row-lock.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const TTL_S = 2;
const HELD_MS = TTL_S * 1000 + 1_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Backends of this database waiting on a lock: the operation's transaction, once it reached the held row. */
async function lockWaiters(ctx: TestContext): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(ctx.db);
  return rows[0]!.n;
}

// No BullMQ worker: the test runs the request in its own transaction, which waits on a held row.
describe('retention counted from the commit, not from the transaction start', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext({ IDEMPOTENCY_TTL_SECONDS: String(TTL_S), EXPIRY_INTERVAL_MS: '60000' });
    app = await ctx.startApi();
  });
  afterAll(() => ctx?.close());

  it('a transaction that waited on a row lock longer than the retention still replays right after it commits', async () => {
    const a = await createItemNow(ctx, app, 1_000);
    const body = { name: 'item', quantity: 400, takeFrom: a };
    const first = await submit(app, '/v1/items', body, { key: 'held' });
    expect(first.statusCode, first.body).toBe(202);
    const { id } = first.json();

    const lock = await holdRowLock(ctx.config.databaseUrl, 'fixture.items', a);
    let done: Awaited<ReturnType<typeof processNow>> | undefined;
    let committedAt = 0;
    const running = processNow(ctx, id).then((row) => {
      committedAt = Date.now();
      done = row;
    });
    try {
      await waitUntil('the operation to wait on the held row', async () => (await lockWaiters(ctx)) > 0, { timeoutMs: 5_000 });
      await sleep(HELD_MS);
    } finally {
      await lock.release();
    }
    await running;
    expect(done!.status).toBe('succeeded');

    const replay = await submit(app, '/v1/items', body, { key: 'held' });
    expect(replay.statusCode, replay.body).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().id).toBe(id);
    expect(await itemsOf(ctx, id)).toBe(1);

    const expiresAt = done!.expires_at!.getTime();
    expect(expiresAt - committedAt).toBeGreaterThan(TTL_S * 1000 - 500);
    expect(expiresAt - done!.updated_at.getTime()).toBe(TTL_S * 1000);
    const history = done!.history as { status: string; at: string }[];
    expect(Date.parse(history.at(-1)!.at)).toBe(done!.updated_at.getTime());
  });
});
