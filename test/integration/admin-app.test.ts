import { spawn } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { ADMIN_TOKEN, adminAuth, auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { logLines } from '../helpers/log-lines.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const ADMIN_PATHS = [
  '/metrics',
  '/docs',
  '/docs/json',
  '/docs/asyncapi.json',
  '/console/',
  '/console/console.js',
  '/queues',
  '/queues/api/queues',
  '/api/requests?tenant=acme&key=k',
  '/api/requests/00000000-0000-4000-8000-000000000000',
];

let ctx: TestContext;
let api: FastifyInstance;
let admin: FastifyInstance;

beforeAll(async () => {
  ctx = await createTestContext();
  api = await ctx.startApi();
  admin = await ctx.startAdmin(api);
});
afterAll(() => ctx.close());

describe('the public port', () => {
  it.each(ADMIN_PATHS)('serves no %s (404), with or without an API key or the admin token', async (url) => {
    for (const headers of [{}, auth(), adminAuth]) {
      const res = await api.inject({ url, headers });
      expect(res.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
  });
});

describe('the admin port', () => {
  it.each(ADMIN_PATHS)('refuses %s without the token and with a wrong one (401 problem+json)', async (url) => {
    const wrong = [
      {},
      { authorization: `Bearer ${ADMIN_TOKEN}x` },
      { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
      { authorization: ADMIN_TOKEN },
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      { cookie: `idemq_admin=${ADMIN_TOKEN}` },
      { cookie: 'idemq_admin=' },
      // an API key is no admin token
      auth(),
    ];
    for (const headers of wrong) {
      const res = await admin.inject({ url, headers });
      expect(res.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(401);
      expect(res.json()).toMatchObject({ type: 'https://idemq.dev/problems/unauthorized', status: 401 });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="idemq-admin"');
      expect(res.body).not.toContain(ADMIN_TOKEN);
    }
  });

  it('takes no token from a URL', async () => {
    for (const url of [`/metrics?token=${ADMIN_TOKEN}`, `/metrics?access_token=${ADMIN_TOKEN}`, `/login?token=${ADMIN_TOKEN}`]) {
      const res = await admin.inject({ url });
      if (url.startsWith('/login')) expect(res.headers['set-cookie']).toBeUndefined();
      else expect(res.statusCode).toBe(401);
    }
  });

  it('sends a browser that asks for a page to the login form', async () => {
    const res = await admin.inject({ url: '/console/', headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login');
  });

  it('serves the metrics, both documents, Bull Board and the console with the token', async () => {
    const metrics = await admin.inject({ url: '/metrics', headers: adminAuth });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^idemq_backlog\{kind="unfinished_requests"\} \d+$/m);
    const openapi = await admin.inject({ url: '/docs/json', headers: adminAuth });
    expect(openapi.json().paths['/v1/items'].post).toBeDefined();
    // the admin plane documents none of its own routes in the public API's document
    expect(Object.keys(openapi.json().paths).filter((p) => /metrics|console|queues|login|^\/api\//.test(p))).toEqual([]);
    expect((await admin.inject({ url: '/docs/asyncapi.json', headers: adminAuth })).json().asyncapi).toMatch(/^3\./);
    const docs = await admin.inject({ url: '/docs/', headers: adminAuth });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
    const board = await admin.inject({ url: '/queues', headers: adminAuth });
    expect(board.statusCode).toBe(200);
    expect(board.headers['content-type']).toContain('text/html');
    const queues = await admin.inject({ url: '/queues/api/queues', headers: adminAuth });
    expect(queues.statusCode).toBe(200);
    expect(queues.json().queues.map((q: { name: string }) => q.name)).toEqual(['requests']);
    const page = await admin.inject({ url: '/console/', headers: adminAuth });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('/console/console.js');
  });

  describe('the login form', () => {
    const form = (token: string) => ({
      method: 'POST' as const,
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ token }).toString(),
    });

    it('refuses a wrong token with the form again (401) and no cookie', async () => {
      for (const token of ['', 'nope', `${ADMIN_TOKEN} `, ADMIN_TOKEN.toUpperCase()]) {
        const res = await admin.inject(form(token));
        expect(res.statusCode, token).toBe(401);
        expect(res.headers['set-cookie']).toBeUndefined();
        expect(res.body).toContain('<form');
      }
    });

    it('sets an HttpOnly, SameSite=Strict session cookie that is not the token, which then opens every admin page', async () => {
      const res = await admin.inject(form(ADMIN_TOKEN));
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/console/');
      const setCookie = String(res.headers['set-cookie']);
      expect(setCookie).toMatch(/^idemq_admin=[A-Za-z0-9_-]{20,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
      expect(setCookie).not.toContain(ADMIN_TOKEN);
      const cookie = setCookie.split(';')[0]!;
      for (const url of ['/metrics', '/console/', '/queues', '/docs/json']) {
        expect((await admin.inject({ url, headers: { cookie } })).statusCode, url).toBe(200);
      }
      // a cookie with a wrong bearer header is still refused: the header is what the caller claims
      expect((await admin.inject({ url: '/metrics', headers: { cookie, authorization: 'Bearer wrong' } })).statusCode).toBe(401);
      const out = await admin.inject({ method: 'POST', url: '/logout', headers: { cookie } });
      expect(out.statusCode).toBe(303);
      expect(String(out.headers['set-cookie'])).toMatch(/^idemq_admin=; .*Max-Age=0$/);
    });

    it('refuses a flood of body (413) and a body that is no form', async () => {
      const big = await admin.inject({ ...form('x'.repeat(10_000)) });
      expect(big.statusCode).toBe(413);
      const json = await admin.inject({
        method: 'POST',
        url: '/login',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ token: ADMIN_TOKEN }),
      });
      expect(json.statusCode).toBe(401);
      expect(json.headers['set-cookie']).toBeUndefined();
    });
  });
});

describe('the API process (src/main.ts)', () => {
  it('serves the admin plane on ADMIN_PORT only, audits without the token, and closes both servers on SIGTERM', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const { config } = ctx;
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: new URL('../../', import.meta.url),
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: config.databaseUrl,
        REDIS_URL: config.redisUrl,
        QUEUE_PREFIX: config.queuePrefix,
        PORT: String(port),
        ADMIN_PORT: String(adminPort),
        ADMIN_TOKEN,
        LOG_LEVEL: 'info',
        SHUTDOWN_DRAIN_MS: '0',
        // the earlier tests of this file spent this address's admin budget (shared in Redis under QUEUE_PREFIX)
        ADMIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const base = `http://127.0.0.1:${port}`;
      const adminBase = `http://127.0.0.1:${adminPort}`;
      await waitUntil(
        'both servers listen',
        async () =>
          (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true &&
          (await fetch(`${adminBase}/metrics`).catch(() => undefined))?.status === 401,
        { timeoutMs: 15_000 },
      );
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
      expect((await fetch(`${base}/docs/json`)).status).toBe(404);
      expect((await fetch(`${adminBase}/metrics`, { headers: adminAuth })).status).toBe(200);
      const lookup = await fetch(`${adminBase}/api/requests?tenant=acme&key=nothing-here`, { headers: adminAuth });
      expect(lookup.status).toBe(404);
      const login = await fetch(`${adminBase}/login`, {
        method: 'POST',
        body: new URLSearchParams({ token: ADMIN_TOKEN }),
        redirect: 'manual',
      });
      expect(login.status).toBe(303);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, output).toBe(0);
    const lines = logLines(output);
    expect(
      lines.find((l) => (l.audit as { action?: string } | undefined)?.action === 'look-up-by-key'),
      output,
    ).toBeDefined();
    expect(lines.find((l) => (l.audit as { action?: string; ok?: boolean } | undefined)?.action === 'login')?.audit).toEqual({
      action: 'login',
      who: expect.stringMatching(/^session:[0-9a-f]{12}$/),
      ok: true,
    });
    expect(output).not.toContain(ADMIN_TOKEN);
  }, 30_000);
});

describe('the admin port under slow peers', () => {
  let slow: TestContext;
  let port: number;
  beforeAll(async () => {
    slow = await createTestContext({
      HTTP_HEADERS_TIMEOUT_MS: '400',
      HTTP_REQUEST_TIMEOUT_MS: '1000',
      HTTP_IDLE_TIMEOUT_MS: '500',
      HTTP_MAX_CONNECTIONS: '3',
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '3',
    });
    const admin = await slow.startAdmin();
    port = Number(new URL(await admin.listen({ host: '127.0.0.1', port: 0 })).port);
  });
  afterAll(() => slow?.close());

  it('cuts a client whose headers never end, as the public port does, and closes sockets past HTTP_MAX_CONNECTIONS', async () => {
    const { connect } = await import('node:net');
    const open = () =>
      new Promise<import('node:net').Socket>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => undefined);
        // read what the server sends (a 408), or the close is never seen
        socket.resume();
      });
    const closed = (socket: import('node:net').Socket) => new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    const sockets = await Promise.all([open(), open(), open()]);
    const ends = Promise.all(sockets.map(closed));
    const start = Date.now();
    for (const s of sockets) s.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n`);
    const extra = await open();
    // the fourth is closed on arrival, unanswered
    expect(await Promise.race([closed(extra).then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 2_000))])).toBe('closed');
    for (const end of await Promise.race([
      ends,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('slow headers not cut within 5 s')), 5_000)),
    ])) {
      expect(end - start).toBeLessThan(2_500);
    }
  });
});
