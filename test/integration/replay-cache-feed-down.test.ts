import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintRequest } from '../../src/idempotency/fingerprint.ts';
import { adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { addressOf, TEST_SERVICES } from '../helpers/services.ts';
import { startTcpProxy, type TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const BODY = { name: 'item', quantity: 5 };

// Redis (the shared one) keeps running: the test cuts only its own proxy in front of it.
describe('the replay cache while the status feed is down', () => {
  let proxy: TcpProxy;
  let ctx: TestContext;
  let api: FastifyInstance;
  let admin: FastifyInstance;
  beforeAll(async () => {
    proxy = await startTcpProxy(addressOf(TEST_SERVICES.redisUrl));
    ctx = await createTestContext({ REDIS_URL: viaProxy(TEST_SERVICES.redisUrl, proxy) });
    api = await ctx.startApi();
    admin = await ctx.startAdmin(api);
  });
  afterAll(async () => {
    proxy?.restore();
    await ctx?.close();
    await proxy?.close();
  });

  it('answers from Postgres, not from what it held, once the feed lost Redis (a change meanwhile has no event to reach it)', async () => {
    const key = `feed-down-${randomUUID()}`;
    const { rows } = await sql<{ id: string }>`
      insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, result, retention_seconds, expires_at)
      values ('acme', ${key}, ${fingerprintRequest('POST', '/v1/items', BODY)}, 'items.create', ${JSON.stringify(BODY)}::jsonb, 'succeeded',
              ${JSON.stringify({ itemId: randomUUID(), name: 'item', quantity: 5, left: null })}::jsonb, 3600, now() + interval '1 hour')
      returning id`.execute(ctx.db);
    const id = rows[0]!.id;
    await waitUntil(
      'the record is cached',
      async () => {
        expect((await submit(api, '/v1/items', BODY, { key })).json().id).toBe(id);
        const metrics = (await admin.inject({ url: '/metrics', headers: adminAuth })).body;
        return Number(/^idemq_replay_cache_bytes (\d+)/m.exec(metrics)?.[1]) > 0;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );

    proxy.cut();
    // deleted behind every cache's back: no event is written, as none could be delivered now
    await ctx.db.deleteFrom('idemq.requests').where('id', '=', id).execute();
    const fresh = await waitUntil(
      'a replay finds the key free',
      async () => {
        const res = await submit(api, '/v1/items', BODY, { key });
        return res.json().id !== id && res;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    expect(fresh.statusCode, fresh.body).toBe(202);
  });
});
