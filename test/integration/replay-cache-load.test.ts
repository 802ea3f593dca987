import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintRequest } from '../../src/idempotency/fingerprint.ts';
import { adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';

const BODY = { name: 'item', quantity: 5 };
const KEYS = 30;
const CLIENTS = 6;
const RUN_MS = 6_000;
/** operators act in the first part of the run, clients replay throughout */
const OPERATE_MS = 2_500;
/** the event's way from the outbox to both instances, on a loaded machine */
const DELIVERY_MS = 1_500;
const CACHE_BYTES = 256 * 1024;

interface Answer {
  key: string;
  sentAt: number;
  id: string;
  status: string;
}

/**
 * Several clients replay many finished keys on two API instances while operators re-drive half of
 * them and delete the other half through the console of one: once an action's event had time to
 * arrive, no instance answers the old state, and neither cache outgrows its byte budget.
 */
describe('the replay cache under load, with operators at work', () => {
  let ctx: TestContext;
  let apis: FastifyInstance[];
  let admins: FastifyInstance[];
  beforeAll(async () => {
    ctx = await createTestContext({ REPLAY_CACHE_BYTES: String(CACHE_BYTES) });
    apis = [await ctx.startApi(), await ctx.startApi()];
    admins = [await ctx.startAdmin(apis[0]), await ctx.startAdmin(apis[1])];
    await ctx.startWorker();
  });
  afterAll(() => ctx?.close());

  it('never answers a re-driven or deleted request from a cache once its event had time to arrive', async () => {
    // half failed (re-driven later), half succeeded (deleted later); results of ~16 kB fill the caches
    const { rows } = await sql<{ id: string; idempotency_key: string; status: string }>`
      insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, result, error, retention_seconds, expires_at)
      select 'acme', 'load-' || i, ${fingerprintRequest('POST', '/v1/items', BODY)}, 'items.create', ${JSON.stringify(BODY)}::jsonb,
             case when i % 2 = 0 then 'failed' else 'succeeded' end,
             case when i % 2 = 1 then jsonb_build_object('itemId', gen_random_uuid()::text, 'name', repeat('n', 16000), 'quantity', 5, 'left', null) end,
             case when i % 2 = 0 then '{"code":"processing_failed","message":"attempts ran out"}'::jsonb end,
             3600, now() + interval '1 hour'
        from generate_series(1, ${KEYS}) i
      returning id, idempotency_key, status`.execute(ctx.db);
    const original = new Map(rows.map((r) => [r.idempotency_key, r]));
    const started = Date.now();
    const answers: Answer[] = [];
    const acted = new Map<string, number>();

    const replay = async (api: FastifyInstance, key: string) => {
      const sentAt = Date.now();
      const res = await submit(api, '/v1/items', BODY, { key });
      expect(res.statusCode, res.body).toBeLessThan(300);
      const body = res.json() as { id: string; status: string };
      answers.push({ key, sentAt, id: body.id, status: body.status });
    };
    const client = async (n: number) => {
      for (let i = n; Date.now() - started < RUN_MS; i += CLIENTS) await replay(apis[i % 2]!, `load-${(i % KEYS) + 1}`);
    };
    const operator = async () => {
      const gap = OPERATE_MS / KEYS;
      for (const [key, row] of original) {
        await new Promise((r) => setTimeout(r, gap));
        const admin = admins[Math.floor(Math.random() * 2)]!;
        const res =
          row.status === 'failed'
            ? await admin.inject({ method: 'POST', url: `/api/requests/${row.id}/redrive`, headers: adminAuth })
            : await admin.inject({ method: 'DELETE', url: `/api/requests/${row.id}`, headers: adminAuth });
        expect(res.statusCode, res.body).toBe(200);
        acted.set(key, Date.now());
      }
    };
    await Promise.all([operator(), ...Array.from({ length: CLIENTS }, (_, n) => client(n))]);

    expect(acted.size).toBe(KEYS);
    // however slow the machine: every key once more on both instances, after every event had time
    await new Promise((r) => setTimeout(r, Math.max(0, Math.max(...acted.values()) + DELIVERY_MS - Date.now())));
    for (const key of original.keys()) await Promise.all(apis.map((api) => replay(api, key)));
    const late = answers.filter((a) => a.sentAt > acted.get(a.key)! + DELIVERY_MS);
    const stale = late.filter((a) => {
      const row = original.get(a.key)!;
      return row.status === 'failed' ? a.status === 'failed' : a.id === row.id;
    });
    expect(stale.length, JSON.stringify(stale.slice(0, 3))).toBe(0);
    expect(late.length).toBeGreaterThanOrEqual(2 * KEYS);

    for (const admin of admins) {
      const metrics = (await admin.inject({ url: '/metrics', headers: adminAuth })).body;
      const bytes = Number(/^idemq_replay_cache_bytes (\d+)/m.exec(metrics)?.[1]);
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThanOrEqual(CACHE_BYTES);
    }
  }, 30_000);
});
