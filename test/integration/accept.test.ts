import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewRequest } from '../../src/idempotency/request.repository.ts';
import { createReplayCache } from '../../src/idempotency/replay-cache.ts';
import { createAccept } from '../../src/idempotency/accept.ts';
import { createBatchingStore, createDirectStore } from '../../src/idempotency/request-store.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';

const req = (key: string, fingerprint = 'f1', tenantId = 'acme'): NewRequest => ({
  tenantId,
  key,
  fingerprint,
  operation: 'items.create',
  payload: { name: 'item', quantity: 1 },
  ttlSeconds: 60,
});

describe.each([
  ['batching store', (ctx: TestContext) => createBatchingStore(ctx.db, { maxBatchSize: 50, maxConcurrentBatches: 2 })],
  ['direct store', (ctx: TestContext) => createDirectStore(ctx.db)],
])('accept over the %s', (_name, makeStore) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  it('creates each key once among hundreds of overlapping calls, duplicates and conflicts included', async () => {
    const accept = createAccept(makeStore(ctx), createReplayCache({ maxBytes: 1_000_000 }));
    const calls = [
      ...Array.from({ length: 300 }, (_, i) => req(`k${i % 100}`)),
      ...Array.from({ length: 50 }, (_, i) => req(`k${i}`, 'other')),
      ...Array.from({ length: 50 }, (_, i) => req(`k${i}`, 'f1', 'globex')),
    ];
    const outcomes = await Promise.all(calls.map((c) => accept(c)));
    const created = outcomes.filter((o) => o.kind === 'created');
    expect(created).toHaveLength(150);
    expect(new Set(created.map((o) => o.request.id)).size).toBe(150);
    for (const [i, o] of outcomes.entries()) {
      const call = calls[i]!;
      expect(o.request.idempotency_key).toBe(call.key);
      expect(o.request.tenant_id).toBe(call.tenantId);
      expect(o.kind === 'mismatch').toBe(o.request.fingerprint !== call.fingerprint);
    }
    // every call for one tenant+key names the same record
    const ids = new Map<string, Set<string>>();
    outcomes.forEach((o, i) => {
      const k = `${calls[i]!.tenantId}/${calls[i]!.key}`;
      ids.set(k, (ids.get(k) ?? new Set()).add(o.request.id));
    });
    expect([...ids.values()].every((s) => s.size === 1)).toBe(true);
    const count = await ctx.db
      .selectFrom('idemq.requests')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(150);
  });

  it('answers replays of terminal records from its cache, and still refuses another fingerprint', async () => {
    const accept = createAccept(makeStore(ctx), createReplayCache({ maxBytes: 1_000_000 }));
    const first = await accept(req('done-key'));
    // as completion leaves it: terminal, with its expiry set from then
    await sql`update idemq.requests set status = 'succeeded', result = '{"ok":1}', expires_at = now() + interval '1 hour' where id = ${first.request.id}`.execute(
      ctx.db,
    );
    expect((await accept(req('done-key'))).kind).toBe('replayed');
    // from here on, Postgres is not asked: a row deleted behind the cache's back is still answered
    await ctx.db.deleteFrom('idemq.requests').where('id', '=', first.request.id).execute();
    const cached = await accept(req('done-key'));
    expect(cached).toMatchObject({ kind: 'replayed', request: { id: first.request.id, status: 'succeeded' } });
    expect((await accept(req('done-key', 'changed'))).kind).toBe('mismatch');
  });

  it('caches nothing for a mismatch, and nothing of the payload for a replay', async () => {
    const cache = createReplayCache({ maxBytes: 1_000_000 });
    const accept = createAccept(makeStore(ctx), cache);
    const first = await accept({ ...req('big-key'), payload: { pad: 'x'.repeat(200_000) } });
    await sql`update idemq.requests set status = 'succeeded', result = '{"ok":1}', expires_at = now() + interval '1 hour' where id = ${first.request.id}`.execute(
      ctx.db,
    );
    for (let i = 0; i < 3; i++) expect((await accept(req('big-key', 'other'))).kind).toBe('mismatch');
    expect(cache.size).toBe(0);
    expect((await accept(req('big-key'))).kind).toBe('replayed');
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBeLessThan(2_000);
    expect(cache.get('acme', 'big-key')?.payload).toBeNull();
  });

  it('tells onAccepted of every answered call, shared ones included, with its outcome and time', async () => {
    const heard: { kind: string; seconds: number }[] = [];
    const accept = createAccept(makeStore(ctx), createReplayCache({ maxBytes: 1_000_000 }), {
      onAccepted: (kind, seconds) => void heard.push({ kind, seconds }),
    });
    await Promise.all([accept(req('timed-key')), accept(req('timed-key'))]);
    await accept(req('timed-key', 'other'));
    expect(heard.map((h) => h.kind).sort()).toEqual(['created', 'mismatch', 'replayed']);
    expect(heard.every((h) => h.seconds >= 0 && h.seconds < 10)).toBe(true);
  });
});
