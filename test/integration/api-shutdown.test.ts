import { randomUUID } from 'node:crypto';
import { Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../fixtures/app/app.ts';
import { appMigrations } from '../../src/app-definition.ts';
import { buildApp } from '../../src/app.ts';
import { createApiDeps } from '../../src/deps.ts';
import { drainServer } from '../../src/http/drain.ts';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';

describe('API graceful shutdown', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  it('answers held long-polls with the current state at once instead of holding the shutdown up', async () => {
    const app = await ctx.startApi();
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const { id } = (await submit(app, '/v1/items', { name: 'item', quantity: 1 })).json();
    const polls = Array.from({ length: 5 }, () =>
      fetch(`${base}/v1/requests/${id}?wait=60`, { headers: auth() }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as any,
      })),
    );
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await app.close();
    const answers = await Promise.all(polls);
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const a of answers) expect(a).toMatchObject({ status: 200, body: { id, status: 'queued' } });
  });
});

describe('API drain before closing (drainServer, run on SIGTERM by an API process)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  it('keeps serving while /readyz answers 503; every answer closes its connection, and idle ones close at once', async () => {
    const { deps, close } = await createApiDeps(ctx.config, pino({ level: 'silent' }), appMigrations(fixture));
    const draining = new AbortController();
    const app = await buildApp({ ...deps, draining: draining.signal }, { operations: fixture.operations, routes: fixture.routes });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const { port } = new URL(await app.listen({ port: 0, host: '127.0.0.1' }));
      const call = (path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
        new Promise<{ status: number; headers: IncomingHttpHeaders; body: string; socket: Socket }>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket: req.socket! }));
          });
          req.on('error', reject);
          req.end(opts.body);
        });

      const before = await call('/readyz');
      expect(before.status).toBe(200);
      expect(before.headers.connection).toBe('keep-alive');
      const idleClosed = new Promise<number>((resolve) => before.socket.once('close', () => resolve(Date.now())));

      const started = Date.now();
      const drained = drainServer(app, draining, 1_500);
      // the balancer's idle connection is closed now, not reused until the listener closes
      expect((await idleClosed) - started).toBeLessThan(1_000);

      const ready = await call('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(ready.body)).toMatchObject({ type: 'https://idemq.dev/problems/service-unavailable', status: 503 });
      expect(Number(ready.headers['retry-after'])).toBeGreaterThan(0);
      expect(ready.headers.connection).toBe('close');

      // still served, on new connections, each closed after its answer
      const live = await call('/healthz');
      expect([live.status, live.headers.connection]).toEqual([200, 'close']);
      const posted = await call('/v1/items', {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ name: 'item', quantity: 1 }),
      });
      expect([posted.status, posted.headers.connection]).toEqual([202, 'close']);

      await drained;
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    } finally {
      agent.destroy();
      await app.close();
      await close();
    }
  });
});
