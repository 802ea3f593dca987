import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';

const BUDGET = 8;
const TTL_S = 600;

let ctx: TestContext;
let api: FastifyInstance;
let admin: FastifyInstance;
const output: string[] = [];
const logged: Record<string, any>[] = [];

beforeAll(async () => {
  ctx = await createTestContext({
    ADMIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: String(BUDGET),
    ADMIN_SESSION_TTL_SECONDS: String(TTL_S),
    TRUSTED_PROXIES: '10.9.9.9',
  });
  api = await ctx.startApi();
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        output.push(line);
        logged.push(JSON.parse(line));
      },
    },
  );
  admin = await ctx.startAdmin(api, { logger });
});
afterAll(() => ctx.close());

/** each test from an address of its own: the address budget is per address */
let nextAddress = 1;
const anAddress = () => `10.0.${nextAddress++}.1`;
const audits = (action: string) => logged.filter((l) => l.audit?.action === action).map((l) => l.audit);

async function login(remoteAddress: string, server = admin): Promise<string> {
  const res = await server.inject({
    method: 'POST',
    url: '/login',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
  });
  expect(res.statusCode).toBe(303);
  return String(res.headers['set-cookie']).split(';')[0]!;
}
const metricsWith = (cookie: string, server = admin) => server.inject({ url: '/metrics', remoteAddress: anAddress(), headers: { cookie } });

describe('admin sessions', () => {
  it('are random per login, each with its own cookie; the cookie names no token', async () => {
    const address = anAddress();
    const [a, b] = [await login(address), await login(address)];
    expect(a).not.toBe(b);
    expect(a).toMatch(/^idemq_admin=[A-Za-z0-9_-]{43}$/);
    for (const cookie of [a, b]) expect((await metricsWith(cookie)).statusCode).toBe(200);
    // Postgres holds neither cookie
    const rows = await sql<{ id_hash: Buffer }>`select id_hash from idemq.admin_sessions`.execute(ctx.db);
    for (const cookie of [a, b])
      expect(rows.rows.some((r) => r.id_hash.equals(Buffer.from(cookie.split('=')[1]!, 'base64url')))).toBe(false);
  });

  it('ends at logout: the old cookie is refused afterwards (401), the other session lives on', async () => {
    const address = anAddress();
    const [gone, kept] = [await login(address), await login(address)];
    const out = await admin.inject({ method: 'POST', url: '/logout', remoteAddress: address, headers: { cookie: gone } });
    expect(out.statusCode).toBe(303);
    expect(String(out.headers['set-cookie'])).toMatch(/^idemq_admin=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
    const after = await metricsWith(gone);
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ type: 'https://idemq.dev/problems/unauthorized' });
    expect((await metricsWith(kept)).statusCode).toBe(200);
    expect(audits('logout').some((a) => a.ended === true && /^session:[0-9a-f]{12}$/.test(a.who))).toBe(true);
  });

  it('expire on the server, whatever the browser keeps: expires_at is the login plus ADMIN_SESSION_TTL_SECONDS', async () => {
    const cookie = await login(anAddress());
    const res = await admin.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: anAddress(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${ADMIN_TOKEN}`,
    });
    expect(String(res.headers['set-cookie'])).toContain(`Max-Age=${TTL_S}`);
    const { rows } = await sql<{
      left_s: number;
    }>`select extract(epoch from max(expires_at) - now())::float8 as left_s from idemq.admin_sessions`.execute(ctx.db);
    expect(rows[0]!.left_s).toBeGreaterThan(TTL_S - 60);
    expect(rows[0]!.left_s).toBeLessThanOrEqual(TTL_S);
    expect((await metricsWith(cookie)).statusCode).toBe(200);
    // the session's time runs out (as TTL_S later): the same cookie no longer opens anything
    await sql`update idemq.admin_sessions set expires_at = now() - interval '1 second'`.execute(ctx.db);
    expect((await metricsWith(cookie)).statusCode).toBe(401);
  });

  it('hold on another admin server of the same database (another instance, or after a restart)', async () => {
    const cookie = await login(anAddress());
    const other = await ctx.startAdmin();
    expect((await metricsWith(cookie, other)).statusCode).toBe(200);
    await admin.inject({ method: 'POST', url: '/logout', remoteAddress: anAddress(), headers: { cookie } });
    expect((await metricsWith(cookie, other)).statusCode).toBe(401);
  });

  it('are Secure when the login came over https (a trusted proxy says so)', async () => {
    const res = await admin.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: '10.9.9.9',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https', 'x-forwarded-for': anAddress() },
      payload: `token=${ADMIN_TOKEN}`,
    });
    expect(res.statusCode).toBe(303);
    expect(String(res.headers['set-cookie'])).toMatch(/; Path=\/; HttpOnly; SameSite=Strict; Secure; Max-Age=\d+$/);
  });
});

describe('state-changing admin calls from another origin', () => {
  const unknown = randomUUID();
  const calls = [
    { method: 'POST' as const, url: `/api/requests/${unknown}/redrive` },
    { method: 'DELETE' as const, url: `/api/requests/${unknown}` },
    { method: 'POST' as const, url: '/logout' },
    { method: 'PUT' as const, url: '/queues/api/queues/requests/pause' },
    { method: 'PUT' as const, url: '/queues/api/queues/requests/clean/completed' },
  ];
  const foreign = [
    { origin: 'http://evil.example' },
    { origin: 'null' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { origin: 'http://localhost:80', 'sec-fetch-site': 'same-site' },
  ];

  it.each(calls)('refuses $method $url with a live session (403 cross-origin-refused), and the session still works', async (call) => {
    const cookie = await login(anAddress());
    for (const headers of foreign) {
      const res = await admin.inject({ ...call, remoteAddress: anAddress(), headers: { cookie, ...headers } });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ type: 'https://idemq.dev/problems/cross-origin-refused', status: 403 });
    }
    expect((await metricsWith(cookie)).statusCode).toBe(200);
    // the same call from the admin's own pages (or with no browser headers at all) goes through
    const own = await admin.inject({
      ...call,
      remoteAddress: anAddress(),
      headers: { cookie, origin: 'http://localhost:80', 'sec-fetch-site': 'same-origin' },
    });
    expect(own.statusCode).not.toBe(403);
  });

  it('refuses a cross-site login too, and never reads its token', async () => {
    const res = await admin.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: anAddress(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      payload: `token=${ADMIN_TOKEN}`,
    });
    expect(res.statusCode).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(audits('cross-origin-refused').length).toBeGreaterThan(0);
  });
});

describe('framing', () => {
  it.each(['/login', '/console/', '/console/console.js', '/queues', '/docs/', '/metrics'])('%s may be framed by no page', async (url) => {
    const res = await admin.inject({ url, headers: adminAuth });
    expect(res.statusCode).toBeLessThan(400);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(String(res.headers['content-security-policy'])).toMatch(/(^|;)\s*frame-ancestors 'none'/);
  });
});

describe('the address budget', () => {
  it(`allows ${BUDGET} login tries a minute from one address, then 429 even for the right token; another address is not held up`, async () => {
    const address = anAddress();
    const statuses: number[] = [];
    for (let i = 0; i < BUDGET + 3; i++) {
      const res = await admin.inject({
        method: 'POST',
        url: '/login',
        remoteAddress: address,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `token=guess-${i}`,
      });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([...Array(BUDGET).fill(401), 429, 429, 429]);
    const right = await admin.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: address,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${ADMIN_TOKEN}`,
    });
    expect(right.statusCode).toBe(429);
    expect(right.headers['set-cookie']).toBeUndefined();
    expect(right.json()).toMatchObject({ type: 'https://idemq.dev/problems/rate-limited' });
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    const bearer = await admin.inject({ url: '/metrics', remoteAddress: address, headers: adminAuth });
    expect(bearer.statusCode).toBe(429);
    expect((await admin.inject({ url: '/metrics', remoteAddress: anAddress(), headers: adminAuth })).statusCode).toBe(200);
  });

  it('does not count calls of a live session', async () => {
    const address = anAddress();
    const cookie = await login(address);
    for (let i = 0; i < BUDGET + 2; i++)
      expect((await admin.inject({ url: '/metrics', remoteAddress: address, headers: { cookie } })).statusCode).toBe(200);
  });
});

describe('the audit log', () => {
  it('names who did what: failed look-ups with what was searched, Bull Board mutations, logins; never a token or a cookie', async () => {
    const cookie = await login(anAddress());
    const missing = randomUUID();
    expect((await admin.inject({ url: `/api/requests/${missing}`, headers: { cookie } })).statusCode).toBe(404);
    expect(
      (await admin.inject({ url: `/api/requests?tenant=acme&key=${encodeURIComponent('no such key')}`, headers: { cookie } })).statusCode,
    ).toBe(404);
    const clean = await admin.inject({ method: 'PUT', url: '/queues/api/queues/requests/clean/completed', headers: adminAuth });
    expect(clean.statusCode).toBe(200);
    const who = audits('login').find((a) => a.ok)?.who;
    expect(who).toMatch(/^session:[0-9a-f]{12}$/);
    expect(audits('look-up')).toContainEqual({
      action: 'look-up',
      who: expect.stringMatching(/^session:/),
      requestId: missing,
      found: false,
    });
    expect(audits('look-up-by-key')).toContainEqual({
      action: 'look-up-by-key',
      who: expect.stringMatching(/^session:/),
      found: false,
      tenant: 'acme',
      key: 'no such key',
    });
    expect(audits('queues')).toContainEqual({
      action: 'queues',
      who: 'token',
      method: 'PUT',
      path: '/queues/api/queues/requests/clean/completed',
      status: 200,
    });
    expect(audits('login').some((a) => a.ok === false && a.who === 'anonymous')).toBe(true);
    const all = output.join('\n');
    expect(all).not.toContain(ADMIN_TOKEN);
    expect(all).not.toContain(cookie.split('=')[1]);
  });
});
