import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeRequests, markProcessing } from '../../src/idempotency/request-completion.repository.ts';
import { redriveRequest } from '../../src/idempotency/request-admin.repository.ts';
import { lockRequests } from '../../src/idempotency/request.repository.ts';
import { HISTORY_LIMIT } from '../../src/idempotency/status-history.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { requestRow } from '../helpers/requests.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

async function newRequest(key: string): Promise<string> {
  const { id } = await ctx.db
    .insertInto('idemq.requests')
    .values({ tenant_id: 'acme', idempotency_key: key, fingerprint: 'x', operation: 'items.create', payload: '{}', retention_seconds: 60 })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

const failAndRedrive = async (id: string) => {
  await ctx.db.transaction().execute(async (trx) => {
    await lockRequests(trx, [id]);
    await completeRequests(trx, new Map([[id, { ok: false, error: { code: 'processing_failed', message: 'test' } }]]));
  });
  expect(await redriveRequest(ctx.db, id)).toBeDefined();
};

describe('the status history in the request row', () => {
  it("starts with queued and gets one entry per change, in order, on Postgres's clock", async () => {
    const id = await newRequest('history-1');
    expect(await markProcessing(ctx.db, [id])).toEqual([id]);
    // a second markProcessing changes nothing, so it appends nothing
    expect(await markProcessing(ctx.db, [id])).toEqual([]);
    await ctx.db.transaction().execute(async (trx) => {
      await lockRequests(trx, [id]);
      await completeRequests(trx, new Map([[id, { ok: true, result: { n: 1 } }]]));
    });
    const row = (await requestRow(ctx, id))!;
    expect(row.history.map((h) => h.status)).toEqual(['queued', 'processing', 'succeeded']);
    const times = row.history.map((h) => Date.parse(h.at));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    expect(times[0]).toBe(row.created_at.getTime());
    expect(times.at(-1)).toBe(row.updated_at.getTime());
  });

  it(`keeps the newest ${HISTORY_LIMIT} entries of a request that changes more often`, async () => {
    const id = await newRequest('history-bounded');
    const rounds = HISTORY_LIMIT; // 1 + 2 per round entries in all
    for (let i = 0; i < rounds; i++) await failAndRedrive(id);
    const row = (await requestRow(ctx, id))!;
    expect(row.history).toHaveLength(HISTORY_LIMIT);
    expect(row.history.at(-1)).toMatchObject({ status: 'queued', redriven: true });
    expect(row.history.at(-2)).toMatchObject({ status: 'failed' });
    // the first entry (the original queued one) is gone: only alternating failed / re-driven queued remain
    expect(new Set(row.history.map((h) => h.status))).toEqual(new Set(['queued', 'failed']));
    expect(row.history.filter((h) => h.status === 'queued').every((h) => h.redriven === true)).toBe(true);
  });
});
