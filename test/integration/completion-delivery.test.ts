import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { createItem } from '../helpers/items.ts';
import { submit } from '../helpers/submit.ts';
import { openSocket } from '../helpers/ws-client.ts';
import type { WorkerHandle } from '../../workers/start-worker.ts';

const latencies: number[] = [];

describe('completion delivery across two API instances', () => {
  let ctx: TestContext;
  let a: FastifyInstance;
  let b: FastifyInstance;
  /** the worker of the current phase; tests stop it to hold requests queued while clients subscribe */
  let worker: WorkerHandle | undefined;
  const startWorker = async () => (worker = await ctx.startWorker());
  const stopWorker = async () => {
    await worker?.close();
    worker = undefined;
  };
  let wsUrlA: string;
  let baseB: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    a = await ctx.startApi();
    b = await ctx.startApi();
    wsUrlA = `${(await a.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws')}/v1/ws`;
    baseB = await b.listen({ port: 0, host: '127.0.0.1' });
    await startWorker();
  });
  afterAll(async () => {
    const sorted = [...latencies].sort((x, y) => x - y);
    if (sorted.length) {
      console.log(`commit-to-push ms over ${sorted.length}: median ${sorted[Math.floor(sorted.length / 2)]}, worst ${sorted.at(-1)}`);
    }
    await ctx.close();
  });

  it('pushes a completion posted to B to a WebSocket on A and a long-poll on B within a second', async () => {
    const source = await createItem(b, 5_000);
    for (let round = 0; round < 5; round++) {
      await stopWorker();
      const posted = await fetch(`${baseB}/v1/items`, {
        method: 'POST',
        headers: { ...auth(), 'idempotency-key': `take-${round}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'item', quantity: 100, takeFrom: source }),
      });
      expect(posted.status).toBe(202);
      const { id } = (await posted.json()) as { id: string };

      const socket = await openSocket(wsUrlA, auth());
      socket.send({ type: 'subscribe', requestId: id });
      await socket.next((m) => m.requestId === id && m.status === 'queued');
      const longPoll = fetch(`${baseB}/v1/requests/${id}?wait=20`, { headers: auth() }).then(async (r) => ({
        at: Date.now(),
        body: (await r.json()) as any,
      }));

      await startWorker();
      const pushed = await socket.next((m) => m.requestId === id && m.status === 'succeeded');
      const pushedAt = Date.now();
      const polled = await longPoll;
      expect(polled.body.status).toBe('succeeded');
      expect(pushed.result.quantity).toBe(100);

      const committedAt = new Date(pushed.updatedAt).getTime();
      for (const at of [pushedAt, polled.at]) {
        latencies.push(at - committedAt);
        expect(at - committedAt).toBeLessThan(1_000);
      }
      socket.ws.close();
    }
  });

  it('sends the current terminal state at once to a subscriber that comes after completion', async () => {
    const res = await submit(a, '/v1/items', { name: 'other', quantity: 1 }, { headers: { prefer: 'wait=10' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['preference-applied']).toBe('wait=10');
    const socket = await openSocket(wsUrlA);
    socket.send({ type: 'auth', token: TENANTS.acme.secret });
    socket.send({ type: 'subscribe', requestId: res.json().id });
    const msg = await socket.next((m) => m.type === 'status', 1_000);
    expect(msg).toMatchObject({ type: 'status', requestId: res.json().id, status: 'succeeded' });
    expect(msg.result.itemId).toBeTypeOf('string');
    socket.ws.close();
  });

  it("refuses bad messages, other tenants' ids and unauthenticated upgrades cleanly", async () => {
    await expect(openSocket(wsUrlA, { authorization: 'Bearer wrong-secret-123' })).rejects.toMatchObject({ statusCode: 401 });

    // before authenticating only an `auth` is taken: anything else closes the socket, unanswered
    const anonymous = await openSocket(wsUrlA);
    anonymous.send({ type: 'subscribe', requestId: '00000000-0000-0000-0000-000000000000' });
    expect((await anonymous.closed).code).toBe(1008);
    expect(anonymous.messages).toEqual([]);
    const guesser = await openSocket(wsUrlA);
    guesser.send({ type: 'auth', token: 'not-a-key-at-all' });
    expect((await guesser.closed).code).toBe(4401);

    const mine = await submit(a, '/v1/items', { name: 'item', quantity: 1 });
    const other = await openSocket(wsUrlA, auth('globex'));
    other.send('this is not json');
    other.send({ type: 'dance' });
    other.send({ type: 'subscribe', requestId: mine.json().id });
    other.send({ type: 'subscribe', requestId: 'not-a-uuid' });
    await other.next((m) => m.code === 'not_found' && m.requestId === 'not-a-uuid');
    await other.next((m) => m.code === 'not_found' && m.requestId === mine.json().id);
    const errors = other.messages.filter((m) => m.type === 'error').map((m) => m.code);
    expect(errors.sort()).toEqual(['bad_message', 'bad_message', 'not_found', 'not_found']);
    expect(other.messages.some((m) => m.type === 'status')).toBe(false);
    // the socket still works after all that
    const own = await submit(a, '/v1/items', { name: 'item', quantity: 2 }, { tenant: 'globex' });
    other.send({ type: 'subscribe', requestId: own.json().id });
    await other.next((m) => m.type === 'status' && m.requestId === own.json().id);
    other.ws.close();
  });

  it('streams Server-Sent Events and resumes after Last-Event-ID', async () => {
    await stopWorker();
    const res = await submit(a, '/v1/items', { name: 'item', quantity: 3 });
    const id = res.json().id;
    const stream = fetch(`${baseB}/v1/requests/${id}/events`, { headers: auth() }).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 200));
    await startWorker();
    const text = await stream;
    const events = [...text.matchAll(/id: (\d+)\nevent: status\ndata: (.*)\n\n/g)].map((m) => ({
      id: Number(m[1]),
      data: JSON.parse(m[2]!),
    }));
    expect(events[0]!.data.status).toBe('queued');
    expect(events.at(-1)!.data.status).toBe('succeeded');
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((x, y) => x - y));

    const resumed = await fetch(`${baseB}/v1/requests/${id}/events`, { headers: { ...auth(), 'last-event-id': String(events[0]!.id) } });
    const again = await resumed.text();
    expect(again).not.toContain(`id: ${events[0]!.id}\n`);
    expect(again).toContain('"status":"succeeded"');
    const done = await fetch(`${baseB}/v1/requests/${id}/events`, { headers: { ...auth(), 'last-event-id': String(events.at(-1)!.id) } });
    expect(done.status).toBe(204);
    const foreign = await fetch(`${baseB}/v1/requests/${id}/events`, { headers: auth('globex') });
    expect(foreign.status).toBe(404);
  });
});
