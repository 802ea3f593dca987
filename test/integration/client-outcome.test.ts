import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type RequestView, type SocketConstructor } from '../../clients/typescript/src/index.ts';
import type { paths as LedgerPaths } from '../../clients/typescript/examples/ledger-paths.ts';
import { listenBehindProxy, recordingFetch } from '../helpers/client-fixtures.ts';
import { TENANTS, type TestContext } from '../helpers/context.ts';
import { terminalRow } from '../helpers/requests.ts';
import type { TcpProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/wait-until.ts';
// these tests run on the ledger, with its paths (clients/typescript/examples/ledger-paths.ts) as a service's own
import { createLedgerContext } from '../../examples/ledger/test/ledger-seed.ts';

const apiKey = TENANTS.acme.secret;
const quickReconnect = { baseReconnectDelayMs: 50, maxReconnectDelayMs: 300 };

/** The platform's WebSocket, recording every message the client receives. */
function recordingWebSocket(received: any[]): SocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      this.addEventListener('message', (event) => received.push(JSON.parse(String(event.data))));
    }
  } as unknown as SocketConstructor;
}

describe('awaitOutcome over the shared WebSocket', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let proxy: TcpProxy;
  let baseUrl: string;
  let sockets: () => number;
  let worker: Promise<unknown> | undefined;
  /** the first test needs the request to wait for a worker; the others just need one */
  const ensureWorker = () => (worker ??= ctx.startWorker());
  beforeAll(async () => {
    ctx = await createLedgerContext();
    app = await ctx.startApi();
    ({ proxy, baseUrl, sockets } = await listenBehindProxy(app));
  });
  afterAll(async () => {
    await proxy?.close();
    await ctx?.close();
  });

  it('a socket cut mid-wait and restored: resubscribed, repeated pushes dropped by version, the outcome arrives once', async () => {
    const received: any[] = [];
    const client = createClient<LedgerPaths>({
      baseUrl,
      apiKey,
      WebSocket: recordingWebSocket(received),
      // over the socket only: this test is about its reconnects
      socket: { ...quickReconnect, failuresBeforeFallback: Number.POSITIVE_INFINITY },
    });
    const submission = await client.submit('/v1/accounts', { currency: 'USD', openingBalance: 3 }); // no worker yet: it stays queued
    const seen: RequestView[] = [];
    const outcome = client.awaitOutcome(submission.id, { timeoutMs: 25_000, onStatus: (v) => seen.push(v) });
    const pushes = () => received.filter((m) => m.type === 'status' && m.requestId === submission.id);
    await waitUntil('the first status', async () => seen.length === 1);
    const socketsBefore = sockets();
    // a second wait on the same request, cancelled: it ends with the signal's reason, the first waits on
    const controller = new AbortController();
    const cancelled = client.awaitOutcome(submission, { signal: controller.signal });
    controller.abort(new Error('no longer needed'));
    await expect(cancelled).rejects.toThrow('no longer needed');

    // an outage with no change meanwhile: the resubscription's answer repeats the version already seen
    proxy.cut();
    await new Promise((r) => setTimeout(r, 300));
    proxy.restore();
    await waitUntil("the resubscription's answer", async () => pushes().length === 2, { timeoutMs: 10_000 });
    expect(pushes()[1].version).toBe(pushes()[0].version);
    expect(sockets()).toBeGreaterThan(socketsBefore);

    // the request finishes while the socket is cut: the push is missed, the resubscription brings it
    proxy.cut();
    await ensureWorker();
    await terminalRow(ctx, submission.id);
    proxy.restore();
    const done = await outcome;
    expect(done.status).toBe('succeeded');
    expect(seen.map((v) => v.status)).toEqual(['queued', 'succeeded']);
    client.close();
  });

  it('1,000 concurrent runs over one client share one socket, and all resolve', async () => {
    await ensureWorker();
    const { fetch, attempts } = recordingFetch();
    const client = createClient<LedgerPaths>({ baseUrl, apiKey, fetch });
    const before = sockets();
    const outcomes = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => client.run('/v1/accounts', { currency: 'USD', openingBalance: i }, { timeoutMs: 50_000 })),
    );
    expect(outcomes.filter((o) => o.status === 'succeeded').length).toBe(1_000);
    expect(new Set(outcomes.map((o) => o.id)).size).toBe(1_000);
    expect(outcomes.map((o) => (o.result as { balance: number }).balance)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    expect(sockets() - before).toBe(1);
    // every outcome came over that socket: no long-poll
    expect(attempts.filter((a) => a.method === 'GET')).toEqual([]);
    expect(attempts.length).toBe(1_000);
    client.close();
  }, 60_000);

  it('without WebSocket it long-polls', async () => {
    await ensureWorker();
    const { fetch, attempts } = recordingFetch();
    const client = createClient<LedgerPaths>({ baseUrl, apiKey, WebSocket: null, fetch });
    const before = sockets();
    // no deadline but the test's: Infinity must not be taken for an overflowing timer
    const outcome = await client.run('/v1/accounts', { currency: 'USD', openingBalance: 9 }, { timeoutMs: Number.POSITIVE_INFINITY });
    expect(outcome.status).toBe('succeeded');
    expect(sockets()).toBe(before);
    expect(attempts.some((a) => a.method === 'GET' && a.url.includes(`/v1/requests/${outcome.id}?wait=`))).toBe(true);
  });

  it('when the socket keeps failing (the upgrade refused by a proxy), waiters fall back to long-polling', async () => {
    await ensureWorker();
    // a WebSocket that never connects, as behind a proxy that refuses upgrades
    const Refused = class {
      readyState = 0;
      onopen = null;
      onmessage = null;
      onerror: ((e: unknown) => void) | null = null;
      onclose: ((e: { code: number; reason: string }) => void) | null = null;
      constructor() {
        setTimeout(() => this.onclose?.({ code: 1006, reason: '' }), 10);
      }
      send() {}
      close() {}
    };
    const client = createClient<LedgerPaths>({
      baseUrl,
      apiKey,
      WebSocket: Refused,
      socket: { ...quickReconnect, failuresBeforeFallback: 2 },
    });
    const outcome = await client.run('/v1/accounts', { currency: 'USD', openingBalance: 10 }, { timeoutMs: 15_000 });
    expect(outcome.status).toBe('succeeded');
    client.close();
  });
});

describe('a socket that dies silently', () => {
  let ctx: TestContext;
  let proxy: TcpProxy;
  let baseUrl: string;
  let sockets: () => number;
  beforeAll(async () => {
    ctx = await createLedgerContext();
    ({ proxy, baseUrl, sockets } = await listenBehindProxy(await ctx.startApi()));
  });
  afterAll(async () => {
    await proxy?.close();
    await ctx?.close();
  });

  it('is noticed when a fresh subscription goes unanswered; the client reconnects and the outcome arrives', async () => {
    const client = createClient<LedgerPaths>({
      baseUrl,
      apiKey,
      socket: { ...quickReconnect, probeIdleMs: 300, connectTimeoutMs: 1_000, failuresBeforeFallback: Number.POSITIVE_INFINITY },
    });
    const submission = await client.submit('/v1/accounts', { currency: 'USD', openingBalance: 12 }); // no worker yet
    const seen: string[] = [];
    const outcome = client.awaitOutcome(submission, { timeoutMs: 20_000, onStatus: (v) => seen.push(v.status) });
    await waitUntil('the first status', async () => seen.length === 1);
    expect(sockets()).toBe(1);

    // no close, no reset: the old connection just carries nothing any more
    proxy.stall();
    await ctx.startWorker();
    await terminalRow(ctx, submission.id);
    expect((await outcome).status).toBe('succeeded');
    expect(sockets()).toBeGreaterThanOrEqual(2);
    expect([seen[0], seen.at(-1)]).toEqual(['queued', 'succeeded']);
    client.close();
  });
});

describe('a balanced stack: two API instances on one database and queue prefix', () => {
  let ctx: TestContext;
  let a: FastifyInstance;
  let b: FastifyInstance;
  let balancer: TcpProxy;
  let baseUrl: string;
  let socketsOnA: () => number;
  let socketsOnB: () => number;
  let portOfB: number;
  beforeAll(async () => {
    ctx = await createLedgerContext();
    a = await ctx.startApi();
    b = await ctx.startApi();
    ({ proxy: balancer, baseUrl, sockets: socketsOnA } = await listenBehindProxy(a));
    const behindB = await listenBehindProxy(b);
    await behindB.proxy.close();
    socketsOnB = behindB.sockets;
    portOfB = behindB.port;
  });
  afterAll(async () => {
    await balancer?.close();
    await ctx?.close();
  });

  it('a reconnect that lands on the other instance still brings the outcome', async () => {
    const client = createClient<LedgerPaths>({
      baseUrl,
      apiKey,
      socket: { ...quickReconnect, failuresBeforeFallback: Number.POSITIVE_INFINITY },
    });
    const submission = await client.submit('/v1/accounts', { currency: 'USD', openingBalance: 11 });
    const seen: string[] = [];
    const outcome = client.awaitOutcome(submission, { timeoutMs: 25_000, onStatus: (v) => seen.push(v.status) });
    await waitUntil('the first status', async () => seen.length === 1);
    expect(socketsOnA()).toBe(1);

    // instance A leaves the balancer's pool: its connections drop, the next ones go to B
    balancer.retarget({ host: '127.0.0.1', port: portOfB });
    balancer.cut();
    balancer.restore();
    await waitUntil('a socket on B', async () => socketsOnB() === 1, { timeoutMs: 10_000 });
    await ctx.startWorker();
    expect((await outcome).status).toBe('succeeded');
    // `processing` may come between, over B; nothing comes twice
    expect([seen[0], seen.at(-1)]).toEqual(['queued', 'succeeded']);
    expect(new Set(seen).size).toBe(seen.length);
    expect(socketsOnA()).toBe(1);
    client.close();
  });
});
