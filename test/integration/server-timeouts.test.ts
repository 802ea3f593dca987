import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { openSocket } from '../helpers/ws-client.ts';

// Short limits so the tests run fast; each cut is expected within its limit plus this slack
// (Node checks header and request deadlines periodically, and the machine is shared).
const LIMITS = { headers: 400, request: 1_000, idle: 500, keepAlive: 300 };
const SLACK_MS = 1_500;

interface RawClient {
  socket: Socket;
  received: () => string;
  /** resolves with the time from `since` to the socket's close */
  closedAfter(since: number): Promise<number>;
}

const opened = new Set<Socket>();

function rawClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    opened.add(socket);
    let data = '';
    const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now())));
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closedAfter: async (since) => (await closed) - since }));
    socket.once('error', reject);
  });
}

/** Writes `text` one byte every `everyMs` until the socket closes; never finishes a 60 s body. */
function trickle(socket: Socket, text: string, everyMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]!);
  }, everyMs);
  return () => clearInterval(timer);
}

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

describe('HTTP server limits', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    ctx = await createTestContext({
      HTTP_HEADERS_TIMEOUT_MS: String(LIMITS.headers),
      HTTP_REQUEST_TIMEOUT_MS: String(LIMITS.request),
      HTTP_IDLE_TIMEOUT_MS: String(LIMITS.idle),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(LIMITS.keepAlive),
    });
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of opened) socket.destroy();
    await ctx.close();
  });

  const slowBody = async (head: string) => {
    const client = await rawClient(port);
    const start = Date.now();
    client.socket.write(head);
    // a byte more often than the idle timeout: only the whole-request deadline can end this
    const stop = trickle(client.socket, '{"name":"item","quantity":1'.padEnd(10_000, ' '), LIMITS.idle / 5);
    try {
      return await within(client.closedAfter(start), LIMITS.request + SLACK_MS * 2, 'slow body cut');
    } finally {
      stop();
    }
  };

  it('cuts a client that trickles the body of an authenticated request', async () => {
    const ms = await slowBody(
      `POST /v1/items HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth().authorization}\r\nIdempotency-Key: slow-1\r\n` +
        'Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n',
    );
    expect(ms).toBeLessThan(LIMITS.request + SLACK_MS);
  }, 15_000);

  it('cuts a client that trickles a body to /healthz', async () => {
    const ms = await slowBody('POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n');
    expect(ms).toBeLessThan(LIMITS.request + SLACK_MS);
  }, 15_000);

  it('cuts a client that sends only part of the headers, however slowly it keeps sending', async () => {
    const client = await rawClient(port);
    const start = Date.now();
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const stop = trickle(client.socket, `X-Slow: ${'a'.repeat(5_000)}`, LIMITS.idle / 5);
    try {
      const ms = await within(client.closedAfter(start), LIMITS.headers + SLACK_MS * 2, 'partial headers cut');
      expect(ms).toBeLessThan(LIMITS.headers + SLACK_MS);
      expect(client.received()).not.toContain('200 OK');
    } finally {
      stop();
    }
  }, 15_000);

  it('closes an idle keep-alive connection', async () => {
    const client = await rawClient(port);
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const start = Date.now();
    // Node adds a second to the advertised keep-alive so the client closes first when it can
    const ms = await within(client.closedAfter(start), LIMITS.keepAlive + 1_000 + SLACK_MS * 2, 'idle keep-alive closed');
    expect(client.received()).toContain('200 OK');
    expect(ms).toBeLessThan(LIMITS.keepAlive + 1_000 + SLACK_MS);
  }, 15_000);

  it('answers a long-poll that outlasts the idle timeout, on GET and on POST with Prefer: wait', async () => {
    const id = (await submit(app, '/v1/items', { name: 'item', quantity: 1 })).json().id;
    const base = `http://127.0.0.1:${port}`;
    const start = Date.now();
    const [get, post] = await Promise.all([
      fetch(`${base}/v1/requests/${id}?wait=2`, { headers: auth() }),
      fetch(`${base}/v1/items`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': 'long-poll-post', prefer: 'wait=2' },
        body: JSON.stringify({ name: 'item', quantity: 2 }),
      }),
    ]);
    expect(Date.now() - start).toBeGreaterThanOrEqual(2_000 - 50);
    expect(get.status).toBe(200);
    expect(((await get.json()) as { status: string }).status).toBe('queued');
    expect(post.status).toBe(202);
    expect(((await post.json()) as { status: string }).status).toBe('queued');
  }, 15_000);

  it('keeps an SSE stream open past the idle timeout', async () => {
    const id = (await submit(app, '/v1/items', { name: 'item', quantity: 3 })).json().id;
    const client = await rawClient(port);
    client.socket.write(`GET /v1/requests/${id}/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth().authorization}\r\n\r\n`);
    const closed = client.closedAfter(Date.now()).then(() => 'closed');
    const held = await Promise.race([closed, new Promise((r) => setTimeout(() => r('open'), LIMITS.idle * 4))]);
    expect(held).toBe('open');
    expect(client.received()).toContain('event: status');
    client.socket.destroy();
  }, 15_000);

  it('keeps a quiet WebSocket open past the idle and request timeouts', async () => {
    const socket = await openSocket(`ws://127.0.0.1:${port}/v1/ws`, auth());
    const held = await Promise.race([
      socket.closed.then(() => 'closed'),
      new Promise((r) => setTimeout(() => r('open'), LIMITS.request * 2)),
    ]);
    expect(held).toBe('open');
    const id = (await submit(app, '/v1/items', { name: 'item', quantity: 4 })).json().id;
    socket.send({ type: 'subscribe', requestId: id });
    await socket.next((m) => m.requestId === id && m.status === 'queued');
    socket.ws.terminate();
  }, 15_000);
});

describe('HTTP connection cap', () => {
  let ctx: TestContext;
  let port: number;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    ctx = await createTestContext({ HTTP_MAX_CONNECTIONS: '3', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '3' });
    const app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const c of clients) c.socket.destroy();
    await ctx.close();
  });

  it('refuses connections over the cap while none is idle, and serves one under it again', async () => {
    // mid-request (headers unfinished), so none can be reclaimed as idle
    for (let i = 0; i < 3; i++) {
      const client = await rawClient(port);
      clients.push(client);
      client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    }
    await new Promise((r) => setTimeout(r, 100));
    const extra = await rawClient(port);
    clients.push(extra);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await within(extra.closedAfter(Date.now()), 5_000, 'connection over the cap closed');
    expect(extra.received()).toBe('');

    clients[0]!.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await rawClient(port);
    clients.push(again);
    again.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await within(again.closedAfter(Date.now()), 5_000, 'served once under the cap again');
    expect(again.received()).toContain('200 OK');
  }, 20_000);
});
