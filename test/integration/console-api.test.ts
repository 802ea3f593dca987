import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import Type from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../fixtures/app/app.ts';
import { defineOperation } from '../../src/operations/operation.ts';
import { ADMIN_TOKEN, adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';
import { insertItem } from '../helpers/items.ts';
import { requestRow, terminalRow } from '../helpers/requests.ts';
import { awaitTerminal, submit } from '../helpers/submit.ts';
import { startTcpProxy, type TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/wait-until.ts';

// fails (an unexpected error, not a business one) while `failing` is set
let failing = true;
const flaky = defineOperation({
  name: 'flaky.run',
  route: '/v1/flaky',
  summary: 'test only',
  input: Type.Object({ note: Type.String() }),
  async handle(_trx, _ctx, input) {
    if (failing) throw new Error('flaky is failing');
    return { note: input.note };
  },
});

let ctx: TestContext;
let api: FastifyInstance;
let admin: FastifyInstance;
const logged: Record<string, any>[] = [];

beforeAll(async () => {
  ctx = await createTestContext({}, { ...fixture, operations: [...fixture.operations, flaky] });
  api = await ctx.startApi();
  const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  admin = await ctx.startAdmin(api, { logger });
});
afterAll(() => ctx.close());

const get = (url: string) => admin.inject({ url, headers: adminAuth });
const byKey = (tenant: string, key: string) => get(`/api/requests?${new URLSearchParams({ tenant, key })}`);
const audits = (action: string) => logged.filter((l) => l.audit?.action === action).map((l) => l.audit);

async function queuedItem(tenant: 'acme' | 'globex', key: string, quantity = 100) {
  const source = await insertItem(ctx, 1_000, { tenant });
  const res = await submit(api, '/v1/items', { name: 'item', quantity, takeFrom: source }, { tenant, key });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}

describe('looking a request up', () => {
  it('by id, whichever tenant it belongs to: payload, status, history, attempts', async () => {
    const ids = { acme: await queuedItem('acme', 'look-1'), globex: await queuedItem('globex', 'look-1') };
    for (const [tenant, id] of Object.entries(ids)) {
      const res = await get(`/api/requests/${id}`);
      expect(res.statusCode).toBe(200);
      const { request } = res.json();
      expect(request).toMatchObject({
        id,
        tenantId: tenant,
        idempotencyKey: 'look-1',
        operation: 'items.create',
        status: 'queued',
        attempts: 0,
        error: null,
        result: null,
        expiresAt: null,
      });
      expect(request.payload).toMatchObject({ name: 'item', quantity: 100 });
      expect(request.history).toEqual([{ status: 'queued', at: expect.any(String) }]);
      expect(request.fingerprint).toBeUndefined();
    }
    expect(audits('look-up').map((a) => a.requestId)).toEqual(expect.arrayContaining(Object.values(ids)));
  });

  it("by tenant and key, exactly: the other tenant's request under the same key, a near key or a pattern finds nothing", async () => {
    const acme = await queuedItem('acme', 'Order-42');
    const globex = await queuedItem('globex', 'Order-42');
    expect((await byKey('acme', 'Order-42')).json().request.id).toBe(acme);
    expect((await byKey('globex', 'Order-42')).json().request.id).toBe(globex);
    for (const [tenant, key] of [
      ['acme', 'order-42'],
      ['acme', 'Order-4'],
      ['acme', 'Order-42 '],
      ['acme', 'Order-%'],
      ['acme', "Order-42' or '1'='1"],
      ['ACME', 'Order-42'],
      ['initech', 'Order-42'],
      ['acme', 'Order_42'],
    ]) {
      const res = await byKey(tenant!, key!);
      expect(res.statusCode, `${tenant} ${key}`).toBe(404);
      expect(res.json().type).toBe('https://idemq.dev/problems/not-found');
    }
  });

  it('answers 404 for an unknown or malformed id, 400 (or 414) for an oversized one, 400 for a missing part of the key', async () => {
    expect((await get(`/api/requests/${randomUUID()}`)).statusCode).toBe(404);
    expect((await get('/api/requests/not-a-uuid')).statusCode).toBe(404);
    expect((await get(`/api/requests/${'a'.repeat(80)}`)).statusCode).toBe(400);
    expect((await get(`/api/requests/${'a'.repeat(500)}`)).statusCode).toBe(414);
    expect((await get('/api/requests?tenant=acme')).statusCode).toBe(400);
    expect((await get(`/api/requests?tenant=acme&key=${'k'.repeat(300)}`)).statusCode).toBe(400);
    // Postgres text holds no NUL: refused before any query
    expect((await byKey('acme\u0000', 'k')).statusCode).toBe(400);
    expect((await byKey('acme', 'k\u0000')).statusCode).toBe(400);
  });
});

describe('deleting a key', () => {
  it('refuses an unfinished request (409) and keeps it', async () => {
    const id = await queuedItem('acme', 'del-unfinished');
    const res = await admin.inject({ method: 'DELETE', url: `/api/requests/${id}`, headers: adminAuth });
    expect(res.statusCode).toBe(409);
    expect(res.json().type).toBe('https://idemq.dev/problems/request-unfinished');
    expect(await requestRow(ctx, id)).toBeDefined();
    expect(audits('delete-refused').find((a) => a.requestId === id)).toMatchObject({ tenantId: 'acme', status: 'queued' });
  });

  it('deletes a finished one with its outbox rows; the key then starts a new request', async () => {
    const worker = await ctx.startWorker();
    const id = await queuedItem('globex', 'del-finished');
    await terminalRow(ctx, id);
    await worker.close();
    const res = await admin.inject({ method: 'DELETE', url: `/api/requests/${id}`, headers: adminAuth });
    expect(res.statusCode).toBe(200);
    expect(res.json().deleted).toMatchObject({ id, tenantId: 'globex', idempotencyKey: 'del-finished', status: 'succeeded' });
    expect(await requestRow(ctx, id)).toBeUndefined();
    expect(await ctx.db.selectFrom('idemq.outbox').select('id').where('request_id', '=', id).execute()).toEqual([]);
    expect((await admin.inject({ method: 'DELETE', url: `/api/requests/${id}`, headers: adminAuth })).statusCode).toBe(404);
    const again = await queuedItem('globex', 'del-finished');
    expect(again).not.toBe(id);
    expect(audits('delete').find((a) => a.requestId === id)).toEqual({
      action: 'delete',
      who: 'token',
      requestId: id,
      tenantId: 'globex',
      key: 'del-finished',
    });
  });
});

describe('re-driving a request', () => {
  it('refuses what did not fail with processing_failed (409), and changes nothing', async () => {
    const queued = await queuedItem('acme', 'redrive-queued');
    const worker = await ctx.startWorker();
    const source = await insertItem(ctx, 10);
    const poor = (await submit(api, '/v1/items', { name: 'item', quantity: 1_000, takeFrom: source })).json().id;
    const business = await awaitTerminal(api, poor);
    expect(business.error.code).toBe('insufficient_quantity');
    const succeeded = await terminalRow(ctx, queued);
    await worker.close();
    for (const id of [poor, queued]) {
      const before = await requestRow(ctx, id);
      const res = await admin.inject({ method: 'POST', url: `/api/requests/${id}/redrive`, headers: adminAuth });
      expect(res.statusCode).toBe(409);
      expect(res.json().type).toBe('https://idemq.dev/problems/not-redrivable');
      expect(await requestRow(ctx, id)).toEqual(before);
    }
    expect(succeeded.status).toBe('succeeded');
    expect((await admin.inject({ method: 'POST', url: `/api/requests/${randomUUID()}/redrive`, headers: adminAuth })).statusCode).toBe(404);
  });

  it('puts a processing_failed request back to queued with its event and job; a worker then runs it; attempts start again', async () => {
    failing = true;
    const worker = await ctx.startWorker({ MAX_ATTEMPTS: '1' });
    const res = await submit(api, '/v1/flaky', { note: 'second time lucky' }, { tenant: 'globex', key: 'flaky-1' });
    const id = res.json().id as string;
    const failed = await terminalRow(ctx, id);
    expect(failed.error).toMatchObject({ code: 'processing_failed' });
    expect(failed.history.map((h) => h.status)).toEqual(['queued', 'processing', 'failed']);
    await worker.close();

    failing = false;
    const redrive = await admin.inject({ method: 'POST', url: `/api/requests/${id}/redrive`, headers: adminAuth });
    expect(redrive.statusCode, redrive.body).toBe(200);
    const { request, enqueued } = redrive.json();
    expect(enqueued).toBe(true);
    expect(request).toMatchObject({
      id,
      status: 'queued',
      attempts: 0,
      error: null,
      result: null,
      expiresAt: null,
      version: failed.version + 1,
    });
    expect(request.history.at(-1)).toEqual({ status: 'queued', at: expect.any(String), redriven: true });
    // no worker runs now, so no relay has published it yet
    const events = await ctx.db.selectFrom('idemq.outbox').select('payload').where('request_id', '=', id).execute();
    expect(events.map((e) => e.payload)).toContainEqual({
      requestId: id,
      tenantId: 'globex',
      status: 'queued',
      version: failed.version + 1,
    });
    // a second re-drive of the now queued request is refused
    expect((await admin.inject({ method: 'POST', url: `/api/requests/${id}/redrive`, headers: adminAuth })).statusCode).toBe(409);

    const again = await ctx.startWorker({ MAX_ATTEMPTS: '1' });
    const done = await terminalRow(ctx, id);
    await again.close();
    expect(done.status).toBe('succeeded');
    expect(done.result).toEqual({ note: 'second time lucky' });
    expect(done.history.map((h) => h.status)).toEqual(['queued', 'processing', 'failed', 'queued', 'processing', 'succeeded']);
    const replay = await submit(api, '/v1/flaky', { note: 'second time lucky' }, { tenant: 'globex', key: 'flaky-1' });
    expect(replay.json()).toMatchObject({ id, status: 'succeeded' });
    expect(audits('redrive').find((a) => a.requestId === id)).toEqual({
      action: 'redrive',
      who: 'token',
      requestId: id,
      tenantId: 'globex',
      enqueued: true,
    });
  });
});

describe('re-driving while Redis is away', () => {
  let away: TestContext;
  let proxy: TcpProxy;
  afterAll(async () => {
    await away?.close();
    await proxy?.close();
  });

  it('records the re-drive in Postgres and answers enqueued: false; the reconciler adds the job once a worker runs', async () => {
    const direct = 'redis://127.0.0.1:6379';
    proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 });
    // the API (and its admin server) reach Redis through the proxy; the workers directly
    away = await createTestContext({ REDIS_URL: viaProxy(direct, proxy) }, { ...fixture, operations: [...fixture.operations, flaky] });
    const awayApi = await away.startApi();
    const awayAdmin = await away.startAdmin(awayApi);
    failing = true;
    const first = await away.startWorker({ REDIS_URL: direct, MAX_ATTEMPTS: '1' });
    const id = (await submit(awayApi, '/v1/flaky', { note: 'after the outage' }, { key: 'flaky-away' })).json().id as string;
    expect((await terminalRow(away, id)).error).toMatchObject({ code: 'processing_failed' });
    await first.close();

    failing = false;
    proxy.cut();
    const started = Date.now();
    const res = await awayAdmin.inject({ method: 'POST', url: `/api/requests/${id}/redrive`, headers: adminAuth });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ enqueued: false, request: { id, status: 'queued' } });
    expect(Date.now() - started).toBeLessThan(6_000);
    expect((await requestRow(away, id))!.status).toBe('queued');

    await away.startWorker({ REDIS_URL: direct, MAX_ATTEMPTS: '1' });
    const done = await terminalRow(away, id, 20_000);
    expect(done).toMatchObject({ status: 'succeeded', result: { note: 'after the outage' } });
    proxy.restore();
  }, 40_000);
});

describe('watching a request (SSE)', () => {
  it('streams its states until terminal, for any tenant', async () => {
    // no worker runs yet: the request stays queued until one starts below
    const id = await queuedItem('globex', 'watch-1');
    const base = await admin.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${base}/api/requests/${id}/events`, { headers: adminAuth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const statuses = () => [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!).status);
    const readUntil = async (done: () => boolean) => {
      while (!done()) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        text += value;
      }
    };
    await readUntil(() => statuses().includes('queued'));
    await ctx.startWorker();
    await readUntil(() => false);
    // processing may be folded into succeeded (one wake-up, one read)
    expect([
      ['queued', 'processing', 'succeeded'],
      ['queued', 'succeeded'],
    ]).toContainEqual(statuses());
    const unknown = await fetch(`${base}/api/requests/${randomUUID()}/events`, { headers: adminAuth });
    expect(unknown.status).toBe(404);
    const refused = await fetch(`${base}/api/requests/${id}/events`);
    expect(refused.status).toBe(401);
  });
});

describe('the audit log', () => {
  it('names each action, request and tenant, never the token or a payload', async () => {
    await waitUntil('some actions logged', async () => logged.some((l) => l.audit));
    const text = JSON.stringify(logged);
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain('second time lucky');
    for (const action of ['look-up', 'look-up-by-key', 'delete', 'delete-refused', 'redrive', 'redrive-refused', 'watch'])
      expect(audits(action).length, action).toBeGreaterThan(0);
  });
});
