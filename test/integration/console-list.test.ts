import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';

let ctx: TestContext;
let admin: FastifyInstance;
const logged: Record<string, any>[] = [];

const TENANTS = ['acme', 'globex', 'initech'];
const OPERATIONS = ['items.create', 'orders.place'];
const STATUSES = ['queued', 'processing', 'succeeded', 'failed'];
const BASE = Date.parse('2026-11-01T00:00:00Z');

/**
 * `count` requests of key `prefix-i`, one per second from BASE + `offsetS` (tenant, operation and
 * status cycle; failed ones alternate processing_failed and insufficient_quantity), and `ties`
 * more at the very same microsecond as the last one, so that pages must break ties by id.
 */
async function seed(prefix: string, count: number, offsetS = 0, ties = 0): Promise<void> {
  await sql`
    insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, error, created_at, retention_seconds)
    select (${sql.val(TENANTS)}::text[])[1 + i % 3], ${prefix} || '-' || i, 'f', (${sql.val(OPERATIONS)}::text[])[1 + i % 2], '{}',
           (${sql.val(STATUSES)}::text[])[1 + i % 4],
           case when i % 4 = 3 then jsonb_build_object('code', case when i % 8 = 3 then 'processing_failed' else 'insufficient_quantity' end, 'message', 'm') end,
           to_timestamp(${(BASE + offsetS * 1000) / 1000} + least(i, ${count - 1}) + 0.000001 * (${offsetS} % 1000)), 3600
      from generate_series(0, ${count + ties - 1}) i`.execute(ctx.db);
}

beforeAll(async () => {
  ctx = await createTestContext();
  const api = await ctx.startApi();
  const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  admin = await ctx.startAdmin(api, { logger });
  await seed('seed', 60, 0, 5);
});
afterAll(() => ctx?.close());

const list = (query: Record<string, string | number> = {}) =>
  admin.inject({
    url: `/api/requests/recent?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`,
    headers: adminAuth,
  });
const audits = (action: string) => logged.filter((l) => l.audit?.action === action).map((l) => l.audit);

/** every page of `query`, following nextCursor; `between` runs after each page */
async function allPages(query: Record<string, string | number>, between: (page: number) => Promise<void> = async () => {}) {
  const seen: any[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res = await list({ ...query, ...(cursor && { cursor }) });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    seen.push(...body.requests);
    cursor = body.nextCursor;
    if (!cursor) return seen;
    await between(page);
  }
  throw new Error('more than 100 pages');
}

/** the rows the database holds for a filter, newest first: what the list must show */
async function expected(where: (q: any) => any) {
  const rows = await where(ctx.db.selectFrom('idemq.requests').select(['id']))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r: { id: string }) => r.id);
}

describe('the list of requests', () => {
  it('shows the newest first, fifty by default, with what an operator scans for', async () => {
    const res = await list();
    expect(res.statusCode).toBe(200);
    const { requests, nextCursor } = res.json();
    expect(requests).toHaveLength(50);
    expect(typeof nextCursor).toBe('string');
    expect(requests.map((r: any) => r.id)).toEqual((await expected((q) => q)).slice(0, 50));
    expect(Object.keys(requests[0]).sort()).toEqual([
      'attempts',
      'createdAt',
      'errorCode',
      'id',
      'idempotencyKey',
      'operation',
      'status',
      'tenantId',
      'updatedAt',
    ]);
    expect(requests[0].createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(requests.find((r: any) => r.status === 'failed').errorCode).toMatch(/processing_failed|insufficient_quantity/);
  });

  it('filters by status, operation, tenant, error code and time window, alone and together, across pages', async () => {
    const cases: [Record<string, string>, (q: any) => any][] = [
      [{ status: 'processing' }, (q) => q.where('status', '=', 'processing')],
      [{ operation: 'orders.place' }, (q) => q.where('operation', '=', 'orders.place')],
      [{ tenant: 'globex' }, (q) => q.where('tenant_id', '=', 'globex')],
      [{ errorCode: 'processing_failed' }, (q) => q.where(sql`error ->> 'code'`, '=', 'processing_failed')],
      [
        { from: '2026-11-01T00:00:10Z', to: '2026-11-01T00:00:20Z' },
        (q) => q.where('created_at', '>=', new Date('2026-11-01T00:00:10Z')).where('created_at', '<', new Date('2026-11-01T00:00:20Z')),
      ],
      [{ from: '2026-11-01T01:00:30+01:00' }, (q) => q.where('created_at', '>=', new Date('2026-11-01T00:00:30Z'))],
      [
        { tenant: 'acme', status: 'failed', operation: 'orders.place', to: '2026-11-01T00:00:50.5Z' },
        (q) =>
          q
            .where('tenant_id', '=', 'acme')
            .where('status', '=', 'failed')
            .where('operation', '=', 'orders.place')
            .where('created_at', '<', new Date('2026-11-01T00:00:50.5Z')),
      ],
    ];
    for (const [query, where] of cases) {
      const want = await expected(where);
      expect(want.length, JSON.stringify(query)).toBeGreaterThan(0);
      expect(
        (await allPages({ ...query, limit: 4 })).map((r) => r.id),
        JSON.stringify(query),
      ).toEqual(want);
    }
    // hostile or unknown values are values: they match nothing
    const hostile: Record<string, string>[] = [
      { tenant: "acme' or '1'='1" },
      { operation: 'items.%' },
      { errorCode: 'processing_failed"' },
      { tenant: 'ACME' },
    ];
    for (const query of hostile) {
      const res = await list(query);
      expect(res.statusCode, JSON.stringify(query)).toBe(200);
      expect(res.json()).toEqual({ requests: [], nextCursor: null });
    }
    expect(audits('list').at(-1)).toMatchObject({ who: 'token', filter: { tenant: 'ACME' }, page: 'first', found: 0 });
  });

  it('pages with a keyset: no row skipped or repeated while rows are inserted between pages, ties broken by id', async () => {
    // the six newest seeded rows share one microsecond: pages of four split them
    const before = await expected((q) => q);
    let inserted = 0;
    const seen = await allPages({ limit: 4 }, async (page) => {
      // newer requests arrive while the operator pages, some sharing one microsecond
      await seed(`during-${page}`, 3, 1_000 + page, 2);
      inserted += 5;
    });
    expect(inserted).toBeGreaterThan(0);
    const ids = seen.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(before);
  });

  it('caps a page at 100 and answers bad input with 400 invalid-request', async () => {
    const full = (await list({ limit: 100 })).json();
    expect(full.requests).toHaveLength(100);
    expect(full.nextCursor).not.toBeNull();
    const bad: Record<string, string | number>[] = [
      { limit: 101 },
      { limit: 0 },
      { limit: 'ten' },
      { status: 'lost' },
      { tenant: '' },
      { tenant: 't'.repeat(256) },
      { errorCode: 'e'.repeat(101) },
      { from: 'yesterday' },
      { from: '2026-11-01' },
      { from: '2026-11-01T00:00:00' },
      { from: '2026-02-31T00:00:00Z' },
      { to: '2026-13-01T00:00:00Z' },
      { from: '2026-11-02T00:00:00Z', to: '2026-11-01T00:00:00Z' },
      { cursor: 'not a cursor' },
      { cursor: Buffer.from('["2026-11-01T00:00:00.000000Z","x"]').toString('base64url') },
      { cursor: Buffer.from(`["2026-11-01'","${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}"]`).toString('base64url') },
      { cursor: 'c'.repeat(201) },
      { tenant: 'acme\u0000' },
      { operation: '\u0000' },
      { errorCode: 'processing_failed\u0000' },
    ];
    for (const query of bad) {
      const res = await list(query);
      expect(res.statusCode, JSON.stringify(query)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().type, JSON.stringify(query)).toBe('https://idemq.dev/problems/invalid-request');
    }
    expect((await admin.inject({ url: '/api/requests/recent' })).statusCode).toBe(401);
  });
});

describe('bulk re-drive', () => {
  it('re-drives the newest processing_failed requests of the filter, capped per call, with an audit line per request', async () => {
    const candidates = await expected((q) => q.where('tenant_id', '=', 'acme').where(sql`error ->> 'code'`, '=', 'processing_failed'));
    expect(candidates.length).toBeGreaterThan(2);
    const others = await ctx.db
      .selectFrom('idemq.requests')
      .select(['id', 'status', 'version'])
      .where('tenant_id', '<>', 'acme')
      .orderBy('id')
      .execute();

    const res = await admin.inject({
      method: 'POST',
      url: '/api/requests/redrive',
      headers: adminAuth,
      payload: { tenant: 'acme', limit: 2 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ skipped: 0, more: true });
    expect(body.redriven.map((r: any) => r.id)).toEqual(candidates.slice(0, 2));
    expect(body.redriven.every((r: any) => r.tenantId === 'acme' && r.enqueued === true)).toBe(true);
    const rows = await ctx.db.selectFrom('idemq.requests').select(['id', 'status', 'error']).where('id', 'in', candidates).execute();
    expect(
      rows
        .filter((r) => r.status === 'queued')
        .map((r) => r.id)
        .sort(),
    ).toEqual(candidates.slice(0, 2).sort());
    // other tenants' requests, and acme's other failures, are as they were
    expect(
      await ctx.db
        .selectFrom('idemq.requests')
        .select(['id', 'status', 'version'])
        .where('tenant_id', '<>', 'acme')
        .orderBy('id')
        .execute(),
    ).toEqual(others);
    const perRequest = audits('redrive').filter((a) => a.bulk);
    expect(perRequest.map((a) => a.requestId)).toEqual(candidates.slice(0, 2));
    expect(perRequest[0]).toEqual({
      action: 'redrive',
      who: 'token',
      requestId: candidates[0],
      tenantId: 'acme',
      enqueued: true,
      bulk: true,
    });
    expect(audits('bulk-redrive').at(-1)).toMatchObject({ filter: { tenant: 'acme' }, limit: 2, redriven: 2, skipped: 0 });

    // the rest, then nothing is left
    const rest = await admin.inject({
      method: 'POST',
      url: '/api/requests/redrive',
      headers: adminAuth,
      payload: { tenant: 'acme', limit: 100 },
    });
    expect(rest.json()).toMatchObject({ more: false, skipped: 0 });
    expect(rest.json().redriven.map((r: any) => r.id)).toEqual(candidates.slice(2));
    const none = await admin.inject({
      method: 'POST',
      url: '/api/requests/redrive',
      headers: adminAuth,
      payload: { tenant: 'acme', limit: 100 },
    });
    expect(none.json()).toEqual({ redriven: [], skipped: 0, more: false });
  });

  it('refuses a call over the cap, a bad window, and a browser call from another origin', async () => {
    for (const payload of [{ limit: 101 }, { limit: 0 }, {}, { limit: 5, from: 'soon' }, { limit: 5, tenant: '' }]) {
      const res = await admin.inject({ method: 'POST', url: '/api/requests/redrive', headers: adminAuth, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().type).toBe('https://idemq.dev/problems/invalid-request');
    }
    const login = await admin.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
    });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const failed = await expected((q) => q.where(sql`error ->> 'code'`, '=', 'processing_failed'));
    for (const headers of [{ origin: 'http://evil.example' }, { 'sec-fetch-site': 'same-site' }]) {
      const res = await admin.inject({
        method: 'POST',
        url: '/api/requests/redrive',
        headers: { cookie, ...headers },
        payload: { limit: 100 },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().type).toBe('https://idemq.dev/problems/cross-origin-refused');
    }
    expect((await admin.inject({ method: 'POST', url: '/api/requests/redrive', payload: { limit: 100 } })).statusCode).toBe(401);
    expect(await expected((q) => q.where(sql`error ->> 'code'`, '=', 'processing_failed'))).toEqual(failed);
    // the same call from the console's own page goes through
    const own = await admin.inject({
      method: 'POST',
      url: '/api/requests/redrive',
      headers: { cookie, origin: 'http://localhost:80', 'sec-fetch-site': 'same-origin' },
      payload: { limit: 100 },
    });
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json().redriven.length).toBe(failed.length);
  });
});
