import { createServer, type Server, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, OutcomeTimeout, RetryBudgetExceeded } from '../../clients/typescript/src/index.ts';
import type { paths as LedgerPaths } from '../../clients/typescript/examples/ledger-paths.ts';
import { recordingFetch } from '../helpers/client-fixtures.ts';
import { TENANTS, type TestContext } from '../helpers/context.ts';
import { addressOf, TEST_SERVICES } from '../helpers/services.ts';
import { startTcpProxy, type TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';
// these tests run on the ledger, with its paths (clients/typescript/examples/ledger-paths.ts) as a service's own
import { createLedgerContext } from '../../examples/ledger/test/ledger-seed.ts';

const apiKey = TENANTS.acme.secret;

describe('client retries while Postgres is away (real 503s)', () => {
  let pgProxy: TcpProxy;
  let ctx: TestContext;
  let app: FastifyInstance;
  let baseUrl: string;
  beforeAll(async () => {
    pgProxy = await startTcpProxy(addressOf(TEST_SERVICES.postgresUrl));
    ctx = await createLedgerContext((database) => ({ DATABASE_URL: viaProxy(database.url, pgProxy) }));
    app = await ctx.startApi();
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await ctx?.close();
    await pgProxy?.close();
  });

  it('waits at least Retry-After before each retry, keeps the key, and records the request once Postgres is back', async () => {
    const { fetch, attempts } = recordingFetch();
    const client = createClient<LedgerPaths>({ baseUrl, apiKey, fetch, retry: { baseDelayMs: 10, maxDelayMs: 50, maxElapsedMs: 30_000 } });
    pgProxy.cut();
    const submitted = client.submit('/v1/accounts', { currency: 'USD', openingBalance: 7 });
    // let two 503s come, then bring Postgres back
    while (attempts.filter((a) => a.status === 503).length < 2) await new Promise((r) => setTimeout(r, 20));
    pgProxy.restore();
    const submission = await submitted;

    const unavailable = attempts.filter((a) => a.status === 503);
    expect(unavailable.length).toBeGreaterThanOrEqual(2);
    for (const a of unavailable) expect(a.retryAfter).toMatch(/^\d+$/);
    // every retry after a 503 came no sooner than its Retry-After (the backoff alone is 50 ms at most)
    for (let i = 1; i < attempts.length; i++) {
      const previous = attempts[i - 1]!;
      if (previous.status === 503) expect(attempts[i]!.at - previous.at).toBeGreaterThanOrEqual(Number(previous.retryAfter) * 1000 - 5);
    }
    expect(new Set(attempts.map((a) => a.idempotencyKey))).toEqual(new Set([submission.idempotencyKey]));
    expect(attempts.at(-1)!.status).toBe(202);
    expect(submission.replayed).toBe(false);
    const rows = await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', submission.idempotencyKey).execute();
    expect(rows.map((r) => r.id)).toEqual([submission.id]);
  });

  it('ends with RetryBudgetExceeded, the last 503 as its cause, when the outage outlasts the budget', async () => {
    const { fetch, attempts } = recordingFetch();
    const client = createClient<LedgerPaths>({ baseUrl, apiKey, fetch, retry: { maxAttempts: 2, baseDelayMs: 10 } });
    pgProxy.cut();
    try {
      const err = await client
        .submit('/v1/accounts', { currency: 'USD', openingBalance: 7 }, { idempotencyKey: 'budget-1' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RetryBudgetExceeded);
      expect(err).toMatchObject({ attempts: 2, cause: { status: 503, type: 'https://idemq.dev/problems/service-unavailable' } });
      expect((err as Error).message).toContain('budget-1');
      expect(attempts.map((a) => a.status)).toEqual([503, 503]);
    } finally {
      pgProxy.restore();
    }
  });
});

/** A loopback server that answers every connection with `respond` (or never, for a hanging peer). */
async function hostileServer(respond: (socket: Socket) => void): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    respond(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('client against hostile servers: the budget ends every call with a clear error', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  const start = async (respond: (socket: Socket) => void) => {
    const s = await hostileServer(respond);
    servers.push(s);
    return s.baseUrl;
  };
  const retry = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20, attemptTimeoutMs: 300, maxElapsedMs: 5_000 };

  it('bytes that are not HTTP', async () => {
    const baseUrl = await start((s) => s.end('garbage\r\n\r\n\u0000\u0001'));
    const err = await createClient<LedgerPaths>({ baseUrl, apiKey, retry })
      .submit('/v1/accounts', { currency: 'USD', openingBalance: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryBudgetExceeded);
    expect(err).toMatchObject({ attempts: 3 });
  });

  it("a 200 whose body is not the API's", async () => {
    const body = '<html>captive portal</html>';
    const baseUrl = await start((s) =>
      s.on('data', () =>
        s.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`),
      ),
    );
    const err = await createClient<LedgerPaths>({ baseUrl, apiKey, retry })
      .submit('/v1/accounts', { currency: 'USD', openingBalance: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryBudgetExceeded);
    expect((err as Error).message).toMatch(/not the API's: <html>captive portal/);
  });

  it('a server that accepts and never answers: each attempt times out, then the budget ends it', async () => {
    const baseUrl = await start(() => undefined);
    const err = await createClient<LedgerPaths>({ baseUrl, apiKey, retry })
      .submit('/v1/accounts', { currency: 'USD', openingBalance: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryBudgetExceeded);
    expect((err as Error).message).toMatch(/no whole answer within 300 ms/);
  });

  it('headers, then a body that never ends', async () => {
    const baseUrl = await start((s) =>
      s.on('data', () => s.write('HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"id":')),
    );
    const err = await createClient<LedgerPaths>({ baseUrl, apiKey, retry })
      .submit('/v1/accounts', { currency: 'USD', openingBalance: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryBudgetExceeded);
  });

  it('awaitOutcome against a hanging server (WebSocket never upgraded, long-polls unanswered) ends at its timeout', async () => {
    const baseUrl = await start(() => undefined);
    const client = createClient<LedgerPaths>({
      baseUrl,
      apiKey,
      retry,
      socket: { connectTimeoutMs: 200, failuresBeforeFallback: 2, baseReconnectDelayMs: 10 },
    });
    const err = await client.awaitOutcome(crypto.randomUUID(), { timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutcomeTimeout);
    client.close();
  });

  it('an AbortSignal ends a retrying call at once with its reason', async () => {
    const baseUrl = await start((s) => s.end('garbage'));
    const controller = new AbortController();
    const call = createClient<LedgerPaths>({ baseUrl, apiKey, retry: { ...retry, maxAttempts: 1_000, baseDelayMs: 1_000 } }).submit(
      '/v1/accounts',
      { currency: 'USD', openingBalance: 1 },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('caller gave up')), 100);
    await expect(call).rejects.toThrow('caller gave up');
  });
});
