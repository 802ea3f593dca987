import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { appMigrations } from '../../src/app-definition.ts';
import { loadConfig } from '../../src/config.ts';
import { createApiDeps } from '../../src/deps.ts';
import { auth, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { createKey, runKeys } from '../helpers/keys-cli.ts';
import { countRequests, processNow, submit } from '../helpers/submit.ts';
import { expectProblem } from '../helpers/problem.ts';
import { waitUntil } from '../helpers/wait-until.ts';
import { openSocket, type TestSocket } from '../helpers/ws-client.ts';

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const getRequest = (app: FastifyInstance, id: string, secret: string, query = '') =>
  app.inject({ url: `/v1/requests/${id}${query}`, headers: bearer(secret) });
const listen = async (app: FastifyInstance) => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/ws`;
};

/** How long after `since` the API first answers `status` for the secret (any request id: only the key is judged). */
async function msUntil(app: FastifyInstance, secret: string, since: number, want: (status: number) => boolean): Promise<number> {
  await waitUntil('the answer to change', async () => want((await getRequest(app, randomUUID(), secret)).statusCode), {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
  return Date.now() - since;
}

// The APIs run with the default API_KEYS_REFRESH_MS (2 s): the bounds measured are the shipped ones.
describe('API keys created, listed and revoked with `npm run keys`', () => {
  let ctx: TestContext;
  let url: string;
  let one: FastifyInstance;
  let other: FastifyInstance;
  let otherWs: string;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    ctx = await createTestContext();
    url = ctx.config.databaseUrl;
    one = await ctx.startApi();
    other = await ctx.startApi();
    otherWs = await listen(other);
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await ctx.close();
  });

  it('create prints a secret of the documented form; the key works on an API already running within the refresh interval', async () => {
    const key = await createKey(url, 'acme');
    expect(key.secret).toMatch(/^sk_live_[0-9a-z]{12}_[0-9A-Za-z]{43}$/);
    const ms = await msUntil(one, key.secret, key.exitedAt, (s) => s !== 401);
    console.log(`new key accepted ${ms} ms after the CLI exited`);
    expect(ms).toBeLessThan(2_000 + 1_000);
    expectProblem(await getRequest(one, randomUUID(), key.secret), 404, 'not-found');
    // two keys never share a secret or a prefix
    const second = await createKey(url, 'acme');
    expect(second.prefix).not.toBe(key.prefix);
    expect(second.secret.slice(21)).not.toBe(key.secret.slice(21));
  });

  it('list shows prefixes and metadata, never a secret or its digest; --tenant keeps to one tenant', async () => {
    const acme = await createKey(url, 'acme', ['read']);
    const globex = await createKey(url, 'globex');
    const all = await runKeys(url, ['list']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^${acme.prefix}\\s+acme\\s+read\\s+\\d{4}-`, 'm'));
    expect(all.stdout).toMatch(new RegExp(`^${globex.prefix}\\s+globex\\s+read,write\\s`, 'm'));
    const json = await runKeys(url, ['list', '--json', '--tenant', 'globex']);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ prefix: globex.prefix, tenant: 'globex', scopes: ['read', 'write'], revokedAt: null }),
    ]);
    for (const { secret } of [acme, globex]) {
      const digest = createHash('sha256').update(secret).digest();
      for (const out of [all, json]) {
        const text = out.stdout + out.stderr;
        expect(text).not.toContain(secret.slice(21));
        for (const encoding of ['hex', 'base64', 'base64url'] as const) expect(text).not.toContain(digest.toString(encoding));
      }
    }
    const stored = await ctx.db
      .selectFrom('idemq.api_keys')
      .select(['prefix', 'secret_hash'])
      .where('prefix', '=', acme.prefix)
      .executeTakeFirstOrThrow();
    expect(stored.secret_hash.equals(createHash('sha256').update(acme.secret).digest())).toBe(true);
  });

  it('revoke: another running API refuses the key (401) within 5 s, header and WebSocket alike', async () => {
    const key = await createKey(url, 'acme');
    await msUntil(one, key.secret, key.exitedAt, (s) => s !== 401);
    await msUntil(other, key.secret, key.exitedAt, (s) => s !== 401);

    // sockets opened with the key before the revocation, by header and by message
    const byHeader = await openSocket(otherWs, bearer(key.secret));
    const byMessage = await openSocket(otherWs);
    sockets.push(byHeader, byMessage);
    byMessage.send({ type: 'auth', token: key.secret });
    await byMessage.next((m) => m.type === 'authenticated');

    const revoked = await runKeys(url, ['revoke', key.prefix]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const socketsClosed = Promise.all([byHeader.closed, byMessage.closed]).then((closes) => ({
      closes,
      ms: Date.now() - revoked.exitedAt,
    }));
    expect(revoked.stderr).toContain(key.prefix);
    const ms = await msUntil(other, key.secret, revoked.exitedAt, (s) => s === 401);
    const msOne = await msUntil(one, key.secret, revoked.exitedAt, (s) => s === 401);
    console.log(`revoked key refused ${ms} ms (other API) and ${msOne} ms (first API) after the CLI exited`);
    expect(ms).toBeLessThan(5_000);
    expect(msOne).toBeLessThan(5_000);
    expectProblem(await getRequest(other, randomUUID(), key.secret), 401, 'unauthorized');
    const { closes, ms: closedMs } = await socketsClosed;
    console.log(`its open sockets closed ${closedMs} ms after the CLI exited`);
    expect(closes).toEqual([
      { code: 4401, reason: 'api key revoked' },
      { code: 4401, reason: 'api key revoked' },
    ]);
    expect(closedMs).toBeLessThan(5_000);
    // never accepted again, by any path
    await expect(openSocket(otherWs, bearer(key.secret))).rejects.toMatchObject({ statusCode: 401 });
    const socket = await openSocket(otherWs);
    sockets.push(socket);
    socket.send({ type: 'auth', token: key.secret });
    expect((await socket.closed).code).toBe(4401);
    // a second revoke is harmless; an unknown prefix is an error that names it
    expect((await runKeys(url, ['revoke', key.prefix])).code).toBe(0);
    const unknown = await runKeys(url, ['revoke', 'zzzzzzzzzzzz']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('keys: No key has the prefix zzzzzzzzzzzz.');
  });

  it("revoke: the key's held event stream, long-poll and Prefer: wait end at the next refresh, and never get the outcome", async () => {
    const key = await createKey(url, 'acme');
    await msUntil(other, key.secret, key.exitedAt, (s) => s !== 401);
    const base = otherWs.replace(/^ws:/, 'http:').replace(/\/v1\/ws$/, '');
    const open = { name: 'item', quantity: 3 };
    const id = (await submit(other, '/v1/items', open, { headers: bearer(key.secret) })).json().id as string;

    const stream = await fetch(`${base}/v1/requests/${id}/events`, { headers: bearer(key.secret) });
    expect(stream.status).toBe(200);
    let streamed = '';
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    const streamEnded = (async () => {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) streamed += chunk.value;
      return Date.now();
    })();
    await waitUntil("the stream's first event", async () => streamed.includes('event: status'));
    const longPoll = fetch(`${base}/v1/requests/${id}?wait=30`, { headers: bearer(key.secret) }).then(async (res) => ({
      res,
      at: Date.now(),
      body: await res.json(),
    }));
    const preferKey = randomUUID();
    const preferWait = fetch(`${base}/v1/items`, {
      method: 'POST',
      headers: { ...bearer(key.secret), 'idempotency-key': preferKey, 'content-type': 'application/json', prefer: 'wait=30' },
      body: JSON.stringify(open),
    }).then(async (res) => ({ res, at: Date.now(), body: await res.json() }));
    await waitUntil(
      'the submit held',
      async () =>
        (await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', preferKey).executeTakeFirst()) !== undefined,
    );
    await new Promise((r) => setTimeout(r, 200));

    const revoked = await runKeys(url, ['revoke', key.prefix]);
    expect(revoked.code, revoked.stderr).toBe(0);
    // one refresh (2 s) and margin; the requests are still queued, so nothing ended on its own
    const within = (p: Promise<unknown>) => Promise.race([p, new Promise((r) => setTimeout(() => r('still open'), 6_000))]);
    const [streamAt, polled, preferred] = await Promise.all([within(streamEnded), within(longPoll), within(preferWait)]);
    console.log('after revocation (ms):', { stream: typeof streamAt === 'number' ? streamAt - revoked.exitedAt : streamAt });
    expect(streamAt).not.toBe('still open');
    expect(polled).not.toBe('still open');
    expect(preferred).not.toBe('still open');
    for (const held of [polled, preferred] as { res: Response; at: number; body: { type: string; detail: string } }[]) {
      expect(held.res.status).toBe(401);
      expect(held.res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(held.body.type).toMatch(/\/unauthorized$/);
      expect(held.body.detail).toMatch(/revoked/);
      expect(held.at - revoked.exitedAt).toBeLessThan(5_000);
    }
    expect((streamAt as number) - revoked.exitedAt).toBeLessThan(5_000);
    // finished afterwards: nothing of the outcome went to the revoked key
    expect((await processNow(ctx, id)).status).toBe('succeeded');
    expect(streamed).not.toMatch(/succeeded/);
  });

  it('a read-only key reads (GET, long-poll, SSE, WebSocket) and may not submit: 403 insufficient-scope, nothing recorded', async () => {
    const key = await createKey(url, 'acme', ['read']);
    await msUntil(other, key.secret, key.exitedAt, (s) => s !== 401);
    const id = (await submit(other, '/v1/items', { name: 'item', quantity: 3 })).json().id as string;

    const before = await countRequests(ctx);
    const refused = await other.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { ...bearer(key.secret), 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'item', quantity: 1 }),
    });
    expectProblem(refused, 403, 'insufficient-scope');
    expect(refused.headers['www-authenticate']).toMatch(/insufficient_scope/);
    // refused before the body is read: a malformed one gets the same answer
    const malformed = await other.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { ...bearer(key.secret), 'content-type': 'application/json' },
      payload: '{',
    });
    expectProblem(malformed, 403, 'insufficient-scope');
    expect(await countRequests(ctx)).toBe(before);

    expect((await getRequest(other, id, key.secret)).json()).toMatchObject({ id, status: 'queued' });
    expect((await getRequest(other, id, key.secret, '?wait=1')).statusCode).toBe(200);
    const ws = await openSocket(otherWs, bearer(key.secret));
    sockets.push(ws);
    ws.send({ type: 'subscribe', requestId: id });
    expect(await ws.next((m) => m.type === 'status')).toMatchObject({ requestId: id, status: 'queued' });
    const viaMessage = await openSocket(otherWs);
    sockets.push(viaMessage);
    viaMessage.send({ type: 'auth', token: key.secret });
    await viaMessage.next((m) => m.type === 'authenticated');
    viaMessage.send({ type: 'subscribe', requestId: id });
    await viaMessage.next((m) => m.type === 'status' && m.requestId === id);

    await processNow(ctx, id);
    const sse = await other.inject({ url: `/v1/requests/${id}/events`, headers: bearer(key.secret) });
    expect(sse.statusCode).toBe(200);
    expect(sse.body).toMatch(/"status":"succeeded"/);
  });

  it("a key of one tenant never sees another tenant's requests", async () => {
    const globex = await createKey(url, 'globex', ['read', 'write']);
    await msUntil(other, globex.secret, globex.exitedAt, (s) => s !== 401);
    const id = (await submit(other, '/v1/items', { name: 'item', quantity: 5 }, { tenant: 'acme' })).json().id as string;
    expect((await other.inject({ url: `/v1/requests/${id}`, headers: auth('acme') })).statusCode).toBe(200);

    expectProblem(await getRequest(other, id, globex.secret), 404, 'not-found');
    expectProblem(await getRequest(other, id, globex.secret, '?wait=5'), 404, 'not-found');
    expectProblem(await other.inject({ url: `/v1/requests/${id}/events`, headers: bearer(globex.secret) }), 404, 'not-found');
    const ws = await openSocket(otherWs, bearer(globex.secret));
    sockets.push(ws);
    ws.send({ type: 'subscribe', requestId: id });
    expect(await ws.next((m) => m.type === 'error')).toMatchObject({ code: 'not_found', requestId: id });
    // the same key under globex is globex's own request, not acme's
    const own = await submit(other, '/v1/items', { name: 'item', quantity: 5 }, { headers: bearer(globex.secret) });
    expect(own.statusCode).toBe(202);
    expect(own.json().id).not.toBe(id);
    expect((await getRequest(other, own.json().id, globex.secret)).statusCode).toBe(200);
    expectProblem(await other.inject({ url: `/v1/requests/${own.json().id}`, headers: auth('acme') }), 404, 'not-found');
  });

  it('the CLI refuses a wrong command line with one message and exit code 2, and never echoes a secret-like argument', async () => {
    const secret = `sk_live_abcdefabcdef_${'Z'.repeat(43)}`;
    for (const args of [
      ['frobnicate'],
      ['create'],
      ['create', '--tenant', 'a b'],
      ['create', '--tenant', 'acme', '--scope', 'admin'],
      ['list', secret],
      ['revoke'],
      ['revoke', 'not a prefix'],
    ]) {
      const run = await runKeys(url, args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr.match(/^keys: /gm)).toHaveLength(1);
      expect(run.stdout + run.stderr).not.toContain(secret);
      expect(run.stderr).not.toMatch(/^\s+at /m);
    }
    // the whole secret pasted into revoke: only its prefix is used, and printed
    const pasted = await runKeys(url, ['revoke', secret]);
    expect(pasted.code).toBe(1);
    expect(pasted.stderr.trim()).toBe('keys: No key has the prefix abcdefabcdef.');
    // Postgres away: one line, exit 1
    const away = await runKeys('postgres://postgres@127.0.0.1:1/none', ['list']);
    expect(away.code).toBe(1);
    expect(away.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('API_KEYS and stored keys at once', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let close: () => Promise<void>;
  afterAll(async () => {
    await app?.close();
    await close?.();
    await ctx?.close();
  });

  it('both are valid; a revoked stored key stays refused even when API_KEYS lists its secret too', async () => {
    ctx = await createTestContext();
    const stored = await createKey(ctx.config.databaseUrl, 'acme');
    const copied = await createKey(ctx.config.databaseUrl, 'globex');
    const config = loadConfig({
      DATABASE_URL: ctx.config.databaseUrl,
      REDIS_URL: ctx.config.redisUrl,
      QUEUE_PREFIX: ctx.config.queuePrefix,
      API_KEYS: `acme:${TENANTS.acme.secret},globex:${copied.secret}`,
    });
    ({ close } = await createApiDeps(config, pino({ level: 'silent' }), appMigrations(ctx.app)).then(async ({ deps, close }) => {
      app = await buildApp(deps, { operations: ctx.app.operations, routes: ctx.app.routes });
      return { close };
    }));
    for (const secret of [TENANTS.acme.secret, stored.secret, copied.secret])
      expect((await getRequest(app, randomUUID(), secret)).statusCode).toBe(404);

    for (const { prefix } of [stored, copied]) expect((await runKeys(ctx.config.databaseUrl, ['revoke', prefix])).code).toBe(0);
    await waitUntil(
      'both revocations',
      async () =>
        (await getRequest(app, randomUUID(), stored.secret)).statusCode === 401 &&
        (await getRequest(app, randomUUID(), copied.secret)).statusCode === 401,
      {
        timeoutMs: 5_000,
      },
    );
    expect((await getRequest(app, randomUUID(), TENANTS.acme.secret)).statusCode).toBe(404);
  });
});
