import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { openSocket, type TestSocket } from '../helpers/ws-client.ts';

const CLIENTS = 1_000;

describe('WebSocket fan-out', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let sockets: TestSocket[] = [];

  beforeAll(async () => {
    ctx = await createTestContext({ WORKER_CONCURRENCY: '32' });
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await ctx.close();
  });

  it(`delivers to ${CLIENTS} clients on one instance exactly their own completion`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < CLIENTS; i += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, (_, j) => submit(app, '/v1/items', { name: 'item', quantity: i + j })));
      ids.push(...batch.map((r) => r.json().id));
    }
    const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/ws`;
    for (let i = 0; i < CLIENTS; i += 100) {
      sockets.push(...(await Promise.all(Array.from({ length: 100 }, () => openSocket(url, auth())))));
    }
    sockets.forEach((s, i) => s.send({ type: 'subscribe', requestId: ids[i] }));
    await Promise.all(sockets.map((s, i) => s.next((m) => m.requestId === ids[i] && m.status === 'queued')));

    await ctx.startWorker();
    await Promise.all(sockets.map((s, i) => s.next((m) => m.requestId === ids[i] && m.status === 'succeeded', 20_000)));
    sockets.forEach((s, i) => {
      expect(s.messages.every((m) => m.type === 'status' && m.requestId === ids[i])).toBe(true);
      expect(s.messages.filter((m) => m.status === 'succeeded')).toHaveLength(1);
      expect(s.messages.at(-1).result.quantity).toBe(i);
    });
  }, 60_000);
});
