import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintRequest } from '../../src/idempotency/fingerprint.ts';
import { adminAuth, auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const BODY = { name: 'item', quantity: 5 };

/** A finished record of BODY under `key`, written straight to the database (no job); returns its id. */
async function finishedRecord(ctx: TestContext, key: string, status: 'succeeded' | 'failed'): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, result, error, retention_seconds, expires_at)
    values ('acme', ${key}, ${fingerprintRequest('POST', '/v1/items', BODY)}, 'items.create', ${JSON.stringify(BODY)}::jsonb, ${status},
            ${status === 'succeeded' ? JSON.stringify({ itemId: randomUUID(), name: 'item', quantity: 5, left: null }) : null}::jsonb,
            ${status === 'failed' ? JSON.stringify({ code: 'processing_failed', message: 'attempts ran out' }) : null}::jsonb,
            3600, now() + interval '1 hour')
    returning id`.execute(ctx.db);
  return rows[0]!.id;
}

/** Replays BODY under `key` on `api` (twice: the second answer is the cached one, if any). */
async function replay(api: FastifyInstance, key: string, body: unknown = BODY) {
  await submit(api, '/v1/items', body, { key });
  const res = await submit(api, '/v1/items', body, { key });
  return {
    code: res.statusCode,
    body: res.json() as { id: string; status: string },
    replayed: res.headers['idempotent-replayed'] === 'true',
  };
}

describe('the replay cache across two API instances', () => {
  let ctx: TestContext;
  let a: FastifyInstance;
  let b: FastifyInstance;
  let admin: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext();
    [a, b] = [await ctx.startApi(), await ctx.startApi()];
    admin = await ctx.startAdmin(a);
    await ctx.startWorker();
  });
  afterAll(() => ctx?.close());

  it('answers the re-driven state on the other instance, not the cached failure', async () => {
    const key = `redrive-${randomUUID()}`;
    const id = await finishedRecord(ctx, key, 'failed');
    for (const api of [a, b]) expect((await replay(api, key)).body).toMatchObject({ id, status: 'failed' });
    const res = await admin.inject({ method: 'POST', url: `/api/requests/${id}/redrive`, headers: adminAuth });
    expect(res.statusCode, res.body).toBe(200);
    // within the event's delivery (and the worker's run): never `failed` again once it left that state
    const seen = await waitUntil(
      'instance B answers the re-driven request',
      async () => {
        const r = await replay(b, key);
        return r.body.status === 'succeeded' && r;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(seen.body.id).toBe(id);
    const wait = await submit(b, '/v1/items', BODY, { key, headers: { prefer: 'wait=5' } });
    expect(wait.json()).toMatchObject({ id, status: 'succeeded' });
  });

  it('starts a new request for a deleted key on the other instance, whatever the body', async () => {
    const key = `delete-${randomUUID()}`;
    const id = await finishedRecord(ctx, key, 'succeeded');
    for (const api of [a, b]) expect((await replay(api, key)).body).toMatchObject({ id, status: 'succeeded' });
    const res = await admin.inject({ method: 'DELETE', url: `/api/requests/${id}`, headers: adminAuth });
    expect(res.statusCode, res.body).toBe(200);
    const fresh = await waitUntil(
      'instance B starts a new request under the deleted key',
      async () => {
        const r = await submit(b, '/v1/items', BODY, { key });
        return r.json().id !== id && r;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(fresh.statusCode, fresh.body).toBe(202);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
    expect((await b.inject({ url: fresh.headers.location as string, headers: auth() })).statusCode).toBe(200);

    // and on instance A, which cached the deleted one too: another body is a new request, not a 422
    const other = `delete-other-${randomUUID()}`;
    const otherId = await finishedRecord(ctx, other, 'succeeded');
    for (const api of [a, b]) expect((await replay(api, other)).body).toMatchObject({ id: otherId });
    expect((await admin.inject({ method: 'DELETE', url: `/api/requests/${otherId}`, headers: adminAuth })).statusCode).toBe(200);
    const changed = await waitUntil(
      'instance A takes another body under the deleted key',
      async () => {
        const r = await submit(a, '/v1/items', { name: 'other', quantity: 9 }, { key: other });
        return r.statusCode === 202 && r;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(changed.json().id).not.toBe(otherId);
  });
});
