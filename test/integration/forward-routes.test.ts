import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { upstreamKeyFor } from '../../src/operations/forward/upstream-key.ts';
import { adminAuth, auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { writeRoutesFile } from '../helpers/forward-routes.ts';
import { awaitTerminal, submit } from '../helpers/submit.ts';
import { expectProblem } from '../helpers/problem.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { startUpstreamServer, type UpstreamServer } from '../helpers/upstream-server.ts';
import { openSocket } from '../helpers/ws-client.ts';

const TIMEOUT_MS = 500;
const MAX_ATTEMPTS = 4;

describe('a forward route, end to end (API, BullMQ worker, real upstream)', () => {
  let upstream: UpstreamServer;
  let ctx: TestContext;
  let app: FastifyInstance;
  let base: string;
  let metricsPort: number;
  let routesFile: Awaited<ReturnType<typeof writeRoutesFile>>;

  beforeAll(async () => {
    upstream = await startUpstreamServer();
    routesFile = await writeRoutesFile([
      {
        name: 'orders.create',
        route: '/v1/orders',
        upstream: `${upstream.url}/orders`,
        timeoutMs: TIMEOUT_MS,
        maxAttempts: MAX_ATTEMPTS,
        retryBaseMs: 50,
        retryMaxMs: 5_000,
        headers: { 'x-upstream-api-key': 'sk_upstream_secret' },
        keepHeaders: ['Location'],
      },
    ]);
    // the core alone, no app operation: what src/main.ts and workers/main.ts run
    ctx = await createTestContext({ FORWARD_ROUTES_FILE: routesFile.path }, { operations: [] });
    app = await ctx.startApi();
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    metricsPort = await freePort();
    await ctx.startWorker({ WORKER_METRICS_PORT: String(metricsPort) });
  });
  beforeEach(() => upstream.behave(() => ({ status: 201 })));
  afterAll(async () => {
    await ctx.close();
    await upstream.close();
    await routesFile.remove();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  const order = (n = 1) => ({ sku: 'tea', quantity: n });

  it('200 concurrent POSTs of one key: one request, one attempt and one effect upstream', async () => {
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 200 }, () => submit(app, '/v1/orders', order(), { key })));
    expect(new Set(answers.map((r) => r.statusCode))).toEqual(new Set([202]));
    const ids = new Set(answers.map((r) => r.json().id));
    expect(ids.size).toBe(1);
    const [id] = ids;
    const done = await awaitTerminal(app, id!);
    expect(done.status).toBe('succeeded');
    const upstreamKey = upstreamKeyFor('acme', key);
    expect(upstream.attemptsOf(upstreamKey)).toHaveLength(1);
    expect(upstream.effects.get(upstreamKey)).toBe(1);
  });

  it('sends the body with the derived key, the request id, the tenant and the static headers; keeps the configured answer headers', async () => {
    upstream.behave(() => ({ status: 201, headers: { location: '/orders/o-1', 'x-internal': 'dropped' }, body: { orderId: 'o-1' } }));
    const key = randomUUID();
    const res = await submit(app, '/v1/orders', { sku: 'tea', lines: [1, 2, 3], note: null }, { key });
    expect(res.statusCode, res.body).toBe(202);
    const { id } = res.json();
    const done = await awaitTerminal(app, id);
    expect(done.status).toBe('succeeded');
    expect(done.result).toEqual({
      status: 201,
      headers: { 'content-type': 'application/json', location: '/orders/o-1' },
      body: { orderId: 'o-1' },
    });
    const [attempt] = upstream.attemptsOf(upstreamKeyFor('acme', key));
    expect(attempt!.requestId).toBe(id);
    expect(attempt!.tenant).toBe('acme');
    expect(attempt!.headers['x-upstream-api-key']).toBe('sk_upstream_secret');
    expect(attempt!.headers['content-type']).toBe('application/json');
    expect(attempt!.body).toEqual({ sku: 'tea', lines: [1, 2, 3], note: null });
    // the client's own key never leaves idemq: the upstream sees only the derived one
    expect(attempt!.key).not.toBe(key);
  });

  it('a text answer is kept as text', async () => {
    upstream.behave(() => ({ status: 200, body: 'ok, order placed' }));
    const done = await awaitTerminal(app, (await submit(app, '/v1/orders', order())).json().id);
    expect(done.result).toEqual({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok, order placed' });
  });

  it('a hostile answer is stored safely: cut at maxResponseBytes, NUL-bearing or broken JSON kept as text', async () => {
    const huge = 'x'.repeat(300 * 1024);
    upstream.behave(() => ({ status: 200, body: huge }));
    const cut = await awaitTerminal(app, (await submit(app, '/v1/orders', order())).json().id);
    expect(cut.status).toBe('succeeded');
    expect(cut.result.truncated).toBe(true);
    expect(cut.result.body).toBe(huge.slice(0, 256 * 1024));

    upstream.behave(() => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"name":"a\\u0000b"}' }));
    const nul = await awaitTerminal(app, (await submit(app, '/v1/orders', order())).json().id);
    expect(nul.status).toBe('succeeded');
    expect(nul.result.body).toBe('{"name":"a\\u0000b"}');

    upstream.behave(() => ({ status: 201, headers: { 'content-type': 'application/json' }, body: '{"broken":' }));
    const broken = await awaitTerminal(app, (await submit(app, '/v1/orders', order())).json().id);
    expect(broken.result).toEqual({ status: 201, headers: { 'content-type': 'application/json' }, body: '{"broken":' });
  });

  it('5xx then 2xx: succeeded, every attempt with the same key, one after the other', async () => {
    upstream.behave((_, n) => (n < 3 ? { status: 503, body: { error: 'busy' } } : { status: 201, body: { orderId: 'o-2' } }));
    const key = randomUUID();
    const { id } = (await submit(app, '/v1/orders', order(), { key })).json();
    const done = await awaitTerminal(app, id);
    expect(done.status).toBe('succeeded');
    expect(done.result.body).toEqual({ orderId: 'o-2' });
    const attempts = upstream.attemptsOf(upstreamKeyFor('acme', key));
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.requestId))).toEqual(new Set([id]));
    expect(attempts.every((a) => a.overlapping === 0)).toBe(true);
    const row = await ctx.db.selectFrom('idemq.requests').select('attempts').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.attempts).toBe(3);
  });

  it('4xx: failed with upstream_rejected and the upstream answer, never retried, and replayed as such', async () => {
    upstream.behave(() => ({ status: 422, body: { error: 'unknown sku' } }));
    const key = randomUUID();
    const { id } = (await submit(app, '/v1/orders', order(), { key })).json();
    const done = await awaitTerminal(app, id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'upstream_rejected', upstream: { status: 422, body: { error: 'unknown sku' } } });
    expect(upstream.attemptsOf(upstreamKeyFor('acme', key))).toHaveLength(1);
    const replay = await submit(app, '/v1/orders', order(), { key });
    expect(replay.statusCode).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().error).toEqual(done.error);
    expect(upstream.attemptsOf(upstreamKeyFor('acme', key))).toHaveLength(1);
  });

  it.each([408, 425, 429])('%i is retried like a 5xx', async (status) => {
    upstream.behave((_, n) => (n === 1 ? { status } : { status: 201 }));
    const key = randomUUID();
    const done = await awaitTerminal(app, (await submit(app, '/v1/orders', order(), { key })).json().id);
    expect(done.status).toBe('succeeded');
    expect(upstream.attemptsOf(upstreamKeyFor('acme', key))).toHaveLength(2);
  });

  it('a hang past the timeout is abandoned and retried, the next attempt not before the timeout', async () => {
    upstream.behave((_, n) => (n === 1 ? { hang: true } : { status: 201 }));
    const key = randomUUID();
    const done = await awaitTerminal(app, (await submit(app, '/v1/orders', order(), { key })).json().id);
    expect(done.status).toBe('succeeded');
    const [first, second] = upstream.attemptsOf(upstreamKeyFor('acme', key));
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(TIMEOUT_MS);
    // the first was abandoned (its socket closed) before the second began
    expect(first!.endedAt).toBeLessThanOrEqual(second!.at);
    expect(second!.overlapping).toBe(0);
  });

  it('a dropped connection is retried', async () => {
    upstream.behave((_, n) => (n === 1 ? { drop: true } : { status: 201 }));
    const key = randomUUID();
    const done = await awaitTerminal(app, (await submit(app, '/v1/orders', order(), { key })).json().id);
    expect(done.status).toBe('succeeded');
    expect(upstream.attemptsOf(upstreamKeyFor('acme', key))).toHaveLength(2);
  });

  it('Retry-After is honoured: seconds, and an HTTP date', async () => {
    for (const retryAfter of ['2', () => new Date(Date.now() + 2_000).toUTCString()]) {
      let answeredAt = 0;
      upstream.behave((_, n) => {
        if (n > 1) return { status: 201 };
        answeredAt = Date.now();
        return { status: 429, headers: { 'retry-after': typeof retryAfter === 'string' ? retryAfter : retryAfter() } };
      });
      const key = randomUUID();
      const res = await submit(app, '/v1/orders', order(), { key });
      const done = await awaitTerminal(app, res.json().id);
      expect(done.status).toBe('succeeded');
      const [, second] = upstream.attemptsOf(upstreamKeyFor('acme', key));
      // an HTTP date has whole seconds: up to 1 s of it may already have passed when it is read
      expect(second!.at - answeredAt).toBeGreaterThanOrEqual(typeof retryAfter === 'string' ? 2_000 : 1_000);
    }
  });

  it('after maxAttempts retryable answers: failed with processing_failed and the last answer', async () => {
    upstream.behave((_, n) => ({ status: 500, body: { error: `attempt ${n}` } }));
    const key = randomUUID();
    const done = await awaitTerminal(app, (await submit(app, '/v1/orders', order(), { key })).json().id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'processing_failed', upstream: { status: 500, body: { error: `attempt ${MAX_ATTEMPTS}` } } });
    expect(upstream.attemptsOf(upstreamKeyFor('acme', key))).toHaveLength(MAX_ATTEMPTS);
  });

  it("tenants are isolated: another tenant's id is 404, and one client key under two tenants is two upstream keys", async () => {
    const key = randomUUID();
    const a = (await submit(app, '/v1/orders', order(), { key, tenant: 'acme' })).json();
    const g = (await submit(app, '/v1/orders', order(), { key, tenant: 'globex' })).json();
    expect(a.id).not.toBe(g.id);
    await awaitTerminal(app, a.id, 'acme');
    await awaitTerminal(app, g.id, 'globex');
    const res = await app.inject({ method: 'GET', url: `/v1/requests/${a.id}`, headers: auth('globex') });
    expect(res.statusCode).toBe(404);
    const keyA = upstreamKeyFor('acme', key);
    const keyG = upstreamKeyFor('globex', key);
    expect(keyA).not.toBe(keyG);
    expect(upstream.attemptsOf(keyA).map((x) => x.tenant)).toEqual(['acme']);
    expect(upstream.attemptsOf(keyG).map((x) => x.tenant)).toEqual(['globex']);
    expect([upstream.effects.get(keyA), upstream.effects.get(keyG)]).toEqual([1, 1]);
  });

  it('any JSON document is accepted as the body', async () => {
    for (const body of [[1, 'two'], 'text', 42, null, { deep: { er: [{}] } }]) {
      const key = randomUUID();
      const done = await awaitTerminal(app, (await submit(app, '/v1/orders', body, { key })).json().id);
      expect(done.status).toBe('succeeded');
      expect(upstream.attemptsOf(upstreamKeyFor('acme', key))[0]!.body).toEqual(body);
    }
  });

  it("is in the OpenAPI document, with the upstream's answer as its result", async () => {
    const doc = (await (await ctx.startAdmin(app)).inject({ method: 'GET', url: '/docs/json', headers: adminAuth })).json();
    const post = doc.paths['/v1/orders'].post;
    expect(post.summary).toBe(`Forwarded to ${upstream.url}`);
    expect(JSON.stringify(post.responses['202'])).toContain("the route's maxResponseBytes");
    // the upstream's path and headers (an API key) are not published
    expect(JSON.stringify(doc)).not.toContain('sk_upstream_secret');
    expect(JSON.stringify(doc)).not.toContain(`${upstream.url}/orders`);
  });

  it('Prefer: wait answers 200 with the outcome', async () => {
    const res = await submit(app, '/v1/orders', order(), { headers: { prefer: 'wait=10' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().status).toBe('succeeded');
  });

  it('pushes the outcome over SSE and WebSocket like any operation', async () => {
    upstream.behave((_, n) => (n === 1 ? { status: 503 } : { status: 201, body: { orderId: 'o-push' } }));
    // authenticated by the upgrade's header
    const socket = await openSocket(`${base.replace('http', 'ws')}/v1/ws`, auth());
    const { id } = (await submit(app, '/v1/orders', order())).json();
    socket.send({ type: 'subscribe', requestId: id });
    const stream = fetch(`${base}/v1/requests/${id}/events`, { headers: auth() }).then((r) => r.text());
    const pushed = await socket.next((m) => m.type === 'status' && m.requestId === id && m.status === 'succeeded', 10_000);
    expect(pushed.result).toMatchObject({ status: 201, body: { orderId: 'o-push' } });
    socket.ws.close();
    const events = [...(await stream).matchAll(/event: status\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]!));
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', result: { body: { orderId: 'o-push' } } });
  });

  it('the worker counts upstream attempts by what they decided (the tests above made each kind)', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: adminAuth })).text();
    const count = (outcome: string) =>
      Number(
        new RegExp(`idemq_worker_upstream_attempts_total\\{operation="orders.create",outcome="${outcome}"\\} (\\d+)`).exec(metrics)?.[1] ??
          0,
      );
    const attempts = upstream.attempts.length;
    const counted = ['succeeded', 'retried', 'upstream_rejected', 'processing_failed'].map(count);
    expect(
      counted.every((n) => n > 0),
      metrics,
    ).toBe(true);
    // one count per call: every attempt the upstream saw
    expect(counted.reduce((a, b) => a + b, 0)).toBe(attempts);
  });

  describe('refuses, with nothing recorded and nothing sent upstream', () => {
    const json = { 'content-type': 'application/json' };
    const cases: { name: string; status: number; slug: string; headers: Record<string, string>; payload: string }[] = [
      { name: 'no key', status: 400, slug: 'idempotency-key-missing', headers: json, payload: '{}' },
      { name: 'malformed JSON', status: 400, slug: 'malformed-json', headers: { ...json, 'idempotency-key': 'f-1' }, payload: '{"sku":' },
      {
        name: 'a NUL in a string',
        status: 400,
        slug: 'invalid-json-text',
        headers: { ...json, 'idempotency-key': 'f-2' },
        payload: '{"sku":"a\\u0000b"}',
      },
      {
        name: 'a lone surrogate in a key',
        status: 400,
        slug: 'invalid-json-text',
        headers: { ...json, 'idempotency-key': 'f-3' },
        payload: '{"\\ud800":1}',
      },
      {
        name: 'text/plain',
        status: 415,
        slug: 'unsupported-media-type',
        headers: { 'content-type': 'text/plain', 'idempotency-key': 'f-4' },
        payload: 'hi',
      },
      {
        name: 'a body over 1 MiB',
        status: 413,
        slug: 'body-too-large',
        headers: { ...json, 'idempotency-key': 'f-5' },
        payload: JSON.stringify({ x: 'x'.repeat(1024 * 1024) }),
      },
    ];
    it.each(cases)('$name → $status', async ({ status, slug, headers, payload }) => {
      const sent = upstream.attempts.length;
      const res = await app.inject({ method: 'POST', url: '/v1/orders', headers: { ...auth(), ...headers }, payload });
      expectProblem(res, status, slug);
      const count = await ctx.db
        .selectFrom('idemq.requests')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('operation', '=', 'orders.create')
        .where('idempotency_key', 'like', 'f-%')
        .executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(0);
      expect(upstream.attempts.length).toBe(sent);
    });

    it('the key reused with another body → 422, the first request untouched', async () => {
      const key = randomUUID();
      const first = await submit(app, '/v1/orders', order(1), { key });
      const second = await submit(app, '/v1/orders', order(2), { key });
      expectProblem(second, 422, 'idempotency-key-reused');
      const done = await awaitTerminal(app, first.json().id);
      expect(done.status).toBe('succeeded');
      expect(upstream.attemptsOf(upstreamKeyFor('acme', key)).map((a) => a.body)).toEqual([order(1)]);
    });
  });
});
