import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { submitAccepted } from '../helpers/submit.ts';
import { openSocket, type TestSocket } from '../helpers/ws-client.ts';

describe('WebSocket session', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let url: string;
  const sockets: TestSocket[] = [];
  const open = async (headers: Record<string, string> = {}) => {
    const socket = await openSocket(url, headers);
    sockets.push(socket);
    return socket;
  };
  const newRequest = (tenant: keyof typeof TENANTS = 'acme') => submitAccepted(app, '/v1/items', { name: 'item', quantity: 7 }, { tenant });

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/ws`;
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await ctx.close();
  });

  it('applies unsubscribe then subscribe sent back to back in order: the terminal push still arrives', async () => {
    const id = await newRequest();
    const socket = await open(auth());
    socket.send({ type: 'subscribe', requestId: id });
    await socket.next((m) => m.requestId === id && m.status === 'queued');

    socket.ws.send(JSON.stringify({ type: 'unsubscribe', requestId: id }));
    socket.ws.send(JSON.stringify({ type: 'subscribe', requestId: id }));

    const worker = await ctx.startWorker();
    try {
      const done = await socket.next((m) => m.requestId === id && m.status === 'succeeded', 15_000);
      expect(done.result.quantity).toBe(7);
    } finally {
      await worker.close();
    }
    // the new subscription answered at once with the state of that moment, as any subscribe does;
    // `processing` shows only if a read happened to land between the worker's two commits
    const statuses = socket.messages.filter((m) => m.requestId === id).map((m) => m.status);
    expect(statuses.filter((s) => s !== 'processing')).toEqual(['queued', 'queued', 'succeeded']);
    expect(statuses.filter((s) => s === 'processing').length).toBeLessThanOrEqual(1);
    expect(statuses.at(-1)).toBe('succeeded');
  }, 30_000);

  it('keeps a socket on its first tenant: a second auth is refused and changes nothing', async () => {
    const acmeId = await newRequest('acme');
    const globexId = await newRequest('globex');
    const socket = await open();
    socket.send({ type: 'auth', token: TENANTS.acme.secret });
    await socket.next((m) => m.type === 'authenticated');
    socket.send({ type: 'subscribe', requestId: acmeId });
    await socket.next((m) => m.requestId === acmeId && m.status === 'queued');

    socket.send({ type: 'auth', token: TENANTS.globex.secret });
    socket.send({ type: 'subscribe', requestId: globexId });
    await socket.next((m) => m.requestId === globexId);
    expect(socket.messages.filter((m) => m.requestId === globexId)).toEqual([
      { type: 'error', code: 'not_found', message: 'No such request.', requestId: globexId },
    ]);
    expect(socket.messages.filter((m) => m.type === 'authenticated')).toHaveLength(1);
    expect(socket.messages.filter((m) => m.code === 'already_authenticated')).toHaveLength(1);

    // the same key again is refused too, and the socket stays open and acme's
    socket.send({ type: 'auth', token: TENANTS.acme.secret });
    await socket.next(() => socket.messages.filter((x) => x.code === 'already_authenticated').length === 2);
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
  });

  it('refuses an auth message on a socket authenticated by its upgrade header', async () => {
    const globexId = await newRequest('globex');
    const socket = await open(auth('acme'));
    socket.send({ type: 'auth', token: TENANTS.globex.secret });
    socket.send({ type: 'subscribe', requestId: globexId });
    const reply = await socket.next((m) => m.requestId === globexId);
    expect(reply).toMatchObject({ type: 'error', code: 'not_found' });
    expect(socket.messages[0]).toMatchObject({ type: 'error', code: 'already_authenticated' });
  });
});
