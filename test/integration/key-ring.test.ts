import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { appMigrations } from '../../src/app-definition.ts';
import { createApiDeps } from '../../src/deps.ts';
import { REDACT_PATHS } from '../../src/logger.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { createKey, runKeys } from '../helpers/keys-cli.ts';
import { expectProblem } from '../helpers/problem.ts';
import { addressOf, TEST_SERVICES } from '../helpers/services.ts';
import { startTcpProxy, type TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/wait-until.ts';
import { openSocket, type TestSocket } from '../helpers/ws-client.ts';

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REFRESH_MS = 2_000;

// The API reaches Postgres through a proxy the test cuts and freezes; the CLI and the assertions
// connect directly. Its log lines are kept, at debug level, to look for secrets in them.
describe('stored keys through a Postgres outage', () => {
  let proxy: TcpProxy;
  let ctx: TestContext;
  let directUrl: string;
  let app: FastifyInstance;
  let wsUrl: string;
  let close: () => Promise<void>;
  let logs = '';
  const sockets: TestSocket[] = [];
  let live: { secret: string; prefix: string };
  let revokedLater: { secret: string; prefix: string };

  beforeAll(async () => {
    proxy = await startTcpProxy(addressOf(TEST_SERVICES.postgresUrl));
    ctx = await createTestContext((database) => {
      directUrl = database.url;
      return { DATABASE_URL: viaProxy(database.url, proxy), LOG_LEVEL: 'debug' };
    });
    live = await createKey(directUrl, 'acme');
    revokedLater = await createKey(directUrl, 'acme', ['read']);
    const log = pino(
      { level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      new Writable({ write: (chunk, _enc, done) => done(void (logs += chunk.toString())) }),
    );
    const started = await createApiDeps(ctx.config, log, appMigrations(ctx.app));
    close = started.close;
    app = await buildApp(started.deps, { operations: ctx.app.operations, routes: ctx.app.routes, logger: log });
    await app.listen({ port: 0, host: '127.0.0.1' });
    wsUrl = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/ws`;
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await app?.close();
    await close?.();
    await ctx?.close();
    await proxy?.close();
  });

  const statusWith = async (secret: string) =>
    (await app.inject({ url: `/v1/requests/${randomUUID()}`, headers: bearer(secret) })).statusCode;
  const authenticates = async (secret: string) => {
    const socket = await openSocket(wsUrl);
    sockets.push(socket);
    socket.send({ type: 'auth', token: secret });
    const started = Date.now();
    await socket.next((m) => m.type === 'authenticated', 2_000);
    return Date.now() - started;
  };

  it('knows the stored keys from its start: no request waits for a first refresh', async () => {
    expect(await statusWith(live.secret)).toBe(404);
    expect(await statusWith(revokedLater.secret)).toBe(404);
  });

  it('keeps the last known keys while Postgres is cut (503, never a mass 401), and takes a revocation made meanwhile once it is back', async () => {
    proxy.cut();
    await sleep(2.5 * REFRESH_MS); // at least two refreshes failed
    expectProblem(await app.inject({ url: `/v1/requests/${randomUUID()}`, headers: bearer(live.secret) }), 503, 'service-unavailable');
    expect(await statusWith(revokedLater.secret)).toBe(503);
    expect(await authenticates(live.secret)).toBeLessThan(1_000);
    // an unknown secret is still refused
    expect(await statusWith(`sk_live_aaaaaaaaaaaa_${'A'.repeat(43)}`)).toBe(401);

    const revoked = await runKeys(directUrl, ['revoke', revokedLater.prefix]);
    expect(revoked.code, revoked.stderr).toBe(0);
    await sleep(REFRESH_MS);
    // this instance cannot know yet: it keeps the key it knew
    expect(await statusWith(revokedLater.secret)).toBe(503);

    proxy.restore();
    const restoredAt = Date.now();
    await waitUntil('the revocation to arrive after the outage', async () => (await statusWith(revokedLater.secret)) === 401, {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    console.log(`after the outage, the revocation took effect ${Date.now() - restoredAt} ms after Postgres was back`);
    expect(Date.now() - restoredAt).toBeLessThan(REFRESH_MS + 5_000);
    expect(await statusWith(live.secret)).toBe(404);
    expect(logs).toMatch(/API keys not refreshed: the last known keys stay in force/);
    expect(logs).toMatch(/API key refresh works again/);
  });

  it('a refresh that hangs (Postgres frozen) holds no request: keys are checked from memory', async () => {
    proxy.freeze();
    try {
      await sleep(2.5 * REFRESH_MS);
      expect(await authenticates(live.secret)).toBeLessThan(1_000);
    } finally {
      proxy.restore();
    }
    await waitUntil('Postgres answers again', async () => (await statusWith(live.secret)) === 404, { timeoutMs: 15_000 });
    // the refresh loop was not left stuck on the hung statement: a new key arrives as usual
    const fresh = await createKey(directUrl, 'globex');
    await waitUntil('the new key', async () => (await statusWith(fresh.secret)) === 404, { timeoutMs: 3 * REFRESH_MS, intervalMs: 50 });
  });

  it('writes last-used times off the request path, and no secret reaches the log', async () => {
    const before = await ctx.db
      .selectFrom('idemq.api_keys')
      .select('last_used_at')
      .where('prefix', '=', live.prefix)
      .executeTakeFirstOrThrow();
    const usedFrom = new Date();
    expect(await statusWith(live.secret)).toBe(404);
    await app.close();
    await close(); // the last uses are written on close at the latest
    const after = await ctx.db
      .selectFrom('idemq.api_keys')
      .select('last_used_at')
      .where('prefix', '=', live.prefix)
      .executeTakeFirstOrThrow();
    expect(after.last_used_at!.getTime()).toBeGreaterThanOrEqual(usedFrom.getTime() - 1_000);
    expect(after.last_used_at!.getTime()).toBeGreaterThan(before.last_used_at?.getTime() ?? 0);
    expect(logs.length).toBeGreaterThan(0);
    for (const { secret } of [live, revokedLater]) expect(logs).not.toContain(secret.slice(21));
  });
});
