import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { appMigrations } from '../../src/app-definition.ts';
import { createApiDeps } from '../../src/deps.ts';
import { rawClientFrom } from '../helpers/bound-client.ts';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { logLines } from '../helpers/log-lines.ts';
import { expectProblem } from '../helpers/problem.ts';

const PER_ADDRESS = 3;

describe(`unknown routes (RATE_LIMIT_PER_ADDRESS_PER_MINUTE=${PER_ADDRESS})`, () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    ctx = await createTestContext({ RATE_LIMIT_PER_ADDRESS_PER_MINUTE: String(PER_ADDRESS) });
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(() => ctx?.close());

  it('count against the address budget like any open route: 404 under it, 429 past it, whatever the body or the key', async () => {
    const post = (remoteAddress: string, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/nowhere',
        remoteAddress,
        headers: { 'content-type': 'application/json', ...headers },
        payload: '{"a":1}',
      });
    const answers = [];
    for (let i = 0; i < PER_ADDRESS + 2; i++) answers.push(await post('192.0.2.10', i % 2 ? auth() : {}));
    answers.slice(0, PER_ADDRESS).forEach((res) => expectProblem(res, 404, 'not-found'));
    answers.slice(PER_ADDRESS).forEach((res) => expectProblem(res, 429, 'rate-limited'));
    // /healthz draws on the same budget
    expectProblem(await app.inject({ url: '/healthz', remoteAddress: '192.0.2.10' }), 429, 'rate-limited');
    // another address has its own
    expectProblem(await post('192.0.2.11'), 404, 'not-found');
  });

  it('answer 404 before the body is read: a 1 MB body announced but never sent does not hold the answer', async () => {
    const client = await rawClientFrom('127.0.0.5', port);
    try {
      const start = Date.now();
      client.socket.write(
        'POST /v1/nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"k0":0,',
      );
      await Promise.race([client.closed, new Promise((r) => setTimeout(r, 5_000))]);
      expect(client.received()).toMatch(/^HTTP\/1\.1 404 /);
      expect(client.received()).toMatch(/connection: close/i);
      // the server closed it, without waiting for the rest of the body (HTTP_REQUEST_TIMEOUT_MS is 30 s)
      expect(client.isClosed()).toBe(true);
      expect(Date.now() - start).toBeLessThan(3_000);
    } finally {
      client.socket.destroy();
    }
  }, 15_000);
});

describe('x-request-id', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let close: () => Promise<void>;
  const written: string[] = [];
  beforeAll(async () => {
    ctx = await createTestContext();
    const log = pino({ level: 'info' }, { write: (line: string) => void written.push(line) });
    const api = await createApiDeps(ctx.config, log, appMigrations(ctx.app));
    close = api.close;
    app = await buildApp(api.deps, { operations: ctx.app.operations, routes: ctx.app.routes, logger: log });
  });
  afterAll(async () => {
    await app?.close();
    await close?.();
    await ctx?.close();
  });

  const call = async (id: string) => {
    written.length = 0;
    const res = await app.inject({ url: '/healthz', headers: { 'x-request-id': id } });
    expect(res.statusCode).toBe(200);
    return { echoed: String(res.headers['x-request-id']), lines: logLines(written.join('')), bytes: written.join('').length };
  };
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it('keeps a short plain one: echoed and bound to the log lines', async () => {
    const id = 'trace-01HZY.abc:42_Z';
    const { echoed, lines } = await call(id);
    expect(echoed).toBe(id);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.reqId === id)).toBe(true);
  });

  it('replaces a 16 KB one (and a 129-character one, and one with other characters): neither echoed nor logged', async () => {
    const huge = 'a'.repeat(16 * 1024);
    const { echoed, lines, bytes } = await call(huge);
    expect(echoed).toMatch(UUID);
    expect(lines.every((l) => l.reqId === echoed)).toBe(true);
    expect(written.join('')).not.toContain('a'.repeat(129));
    // the request's own lines, not 2 x 16 KB of the caller's choosing
    expect(bytes).toBeLessThan(2_000);

    expect((await call('b'.repeat(129))).echoed).toMatch(UUID);
    expect((await call('b'.repeat(128))).echoed).toBe('b'.repeat(128));
    for (const odd of ['has space', '<script>', 'a"b', 'ünï']) expect((await call(odd)).echoed).toMatch(UUID);
  });
});
