import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { createItemNow, itemsOf } from '../helpers/items.ts';
import { processNow, submit } from '../helpers/submit.ts';

const TTL_S = 2;
const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

// No BullMQ worker: the test decides when the request finishes.
describe('retention counted from completion', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext({ IDEMPOTENCY_TTL_SECONDS: String(TTL_S), EXPIRY_INTERVAL_MS: '60000' });
    app = await ctx.startApi();
  });
  afterAll(() => ctx?.close());

  it('a request that finishes after its TTL has elapsed still answers replays for the TTL after it finished', async () => {
    const a = await createItemNow(ctx, app, 1_000);
    const body = { name: 'item', quantity: 400, takeFrom: a };
    const first = await submit(app, '/v1/items', body, { key: 'late' });
    expect(first.statusCode, first.body).toBe(202);
    const { id } = first.json();
    await sleepUntil(Date.parse(first.json().createdAt) + TTL_S * 1000 + 500);

    const done = await processNow(ctx, id);
    expect(done.status).toBe('succeeded');
    const replay = await submit(app, '/v1/items', body, { key: 'late' });
    expect(replay.statusCode, replay.body).toBe(202);
    expect(replay.json().id).toBe(id);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(await itemsOf(ctx, id)).toBe(1);

    // the key is kept until the request is terminal (expiresAt null), then for the TTL
    expect(first.json().expiresAt).toBeNull();
    const view = replay.json();
    expect(Date.parse(view.expiresAt) - Date.parse(view.updatedAt)).toBe(TTL_S * 1000);

    await sleepUntil(Date.parse(view.expiresAt) + 200);
    const later = await submit(app, '/v1/items', body, { key: 'late' });
    expect(later.statusCode, later.body).toBe(202);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(later.json().id).not.toBe(id);
  });
});
