import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE, WS_LIMITS } from '../../src/http/ws-session.ts';
import { auth, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { waitUntil } from '../helpers/wait-until.ts';
import { openSocket, type TestSocket } from '../helpers/ws-client.ts';

const PER_SECOND = 50;
const SUBSCRIBES_PER_MINUTE = 20;
const MAX_SOCKETS = 2;
const PER_ADDRESS = 10;

describe(`WebSocket limits (WS_MESSAGES_PER_SECOND=${PER_SECOND}, WS_SUBSCRIBES_PER_MINUTE=${SUBSCRIBES_PER_MINUTE}, MAX_SOCKETS_PER_TENANT=${MAX_SOCKETS})`, () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let url: string;
  const sockets: TestSocket[] = [];
  const open = async (headers: Record<string, string> = {}) => {
    const socket = await openSocket(url, headers);
    sockets.push(socket);
    return socket;
  };
  const closeAll = async () => {
    const open = sockets.splice(0).filter((s) => s.ws.readyState !== s.ws.CLOSED);
    for (const s of open) s.ws.close();
    await Promise.all(open.map((s) => s.closed));
  };

  beforeAll(async () => {
    ctx = await createTestContext({
      WS_MESSAGES_PER_SECOND: String(PER_SECOND),
      WS_SUBSCRIBES_PER_MINUTE: String(SUBSCRIBES_PER_MINUTE),
      MAX_SOCKETS_PER_TENANT: String(MAX_SOCKETS),
      RATE_LIMIT_PER_ADDRESS_PER_MINUTE: String(PER_ADDRESS),
    });
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/ws`;
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await ctx.close();
  });

  it('takes one message before authentication, and only `auth`: pings, garbage or a subscribe close the socket unanswered (1008)', async () => {
    for (const first of ['{"type":"ping"}', 'garbage', JSON.stringify({ type: 'subscribe', requestId: randomUUID() }), '{"type":"auth"}']) {
      const socket = await open();
      for (let i = 0; i < 2_000; i++) socket.ws.send(i === 0 ? first : '{"type":"ping"}');
      expect(await socket.closed).toEqual({ code: CLOSE.policyViolation, reason: 'authenticate first' });
      expect(socket.messages).toEqual([]);
    }
  });

  it(`answers bad messages of an authenticated socket ${WS_LIMITS.maxBadMessages} times, then closes it (1008); another tenant's socket is unaffected`, async () => {
    await closeAll();
    const res = await submit(app, '/v1/items', { name: 'item', quantity: 3 }, { tenant: 'globex' });
    const globexRequest = res.json().id as string;
    const sender = await open(auth('acme'));
    const bystander = await open(auth('globex'));
    // a second auth is one of them
    sender.send({ type: 'auth', token: TENANTS.acme.secret });
    for (let i = 0; i < 1_000; i++) sender.ws.send(i % 2 ? `{"type":"ping","i":${i}}` : 'garbage');
    bystander.send({ type: 'subscribe', requestId: globexRequest });

    expect(await sender.closed).toEqual({ code: CLOSE.policyViolation, reason: 'too many bad messages' });
    expect(sender.messages).toHaveLength(WS_LIMITS.maxBadMessages);
    expect(sender.messages[0]).toMatchObject({ code: 'already_authenticated' });
    expect(new Set(sender.messages.slice(1).map((m) => m.code))).toEqual(new Set(['bad_message']));
    const pushed = await bystander.next((m) => m.type === 'status' && m.requestId === globexRequest);
    expect(pushed.status).toBe('queued');
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
  });

  it("counts every message against the socket's rate: a flood of unsubscribes is answered rate_limited, then closed (4429)", async () => {
    await closeAll();
    const flooder = await open(auth('acme'));
    const sent = 10_000;
    for (let i = 0; i < sent; i++) flooder.ws.send(JSON.stringify({ type: 'unsubscribe', requestId: `r-${i}` }));
    expect((await flooder.closed).code).toBe(CLOSE.messageFlood);
    const limited = flooder.messages.filter((m) => m.code === 'rate_limited');
    expect(limited.length).toBe(flooder.messages.length);
    expect(limited.length).toBeGreaterThanOrEqual(WS_LIMITS.floodCloseAfter - 1);
    expect(limited.length).toBeLessThanOrEqual(WS_LIMITS.floodCloseAfter + 5);
    expect(limited[0]).toMatchObject({ requestId: expect.stringMatching(/^r-/), message: expect.stringMatching(/messages a second/) });
  });

  it(`lets a client a little over the socket's rate keep it: refused messages answered, later ones handled`, async () => {
    await closeAll();
    const socket = await open(auth('acme'));
    for (let i = 0; i < PER_SECOND + 10; i++) socket.send({ type: 'subscribe', requestId: `not-a-uuid-${i}` });
    await socket.next((m) => m.code === 'rate_limited');
    await new Promise((r) => setTimeout(r, 1_000));
    socket.send({ type: 'subscribe', requestId: 'after-a-pause' });
    await socket.next((m) => m.code === 'not_found' && m.requestId === 'after-a-pause');
    const refused = socket.messages.filter((m) => m.code === 'rate_limited').length;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(10);
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
  });

  it(`draws subscribes (look-ups) from the tenant's budget, shared by its sockets: ${SUBSCRIBES_PER_MINUTE} a minute, the rest rate_limited by requestId; another tenant unaffected`, async () => {
    await closeAll();
    const a = await open(auth('acme'));
    const b = await open(auth('acme'));
    const other = await open(auth('globex'));
    const ids = Array.from({ length: 30 }, () => randomUUID());
    ids.forEach((requestId, i) => (i % 2 ? a : b).send({ type: 'subscribe', requestId }));
    const answered = (s: TestSocket) => s.messages.filter((m) => m.code === 'not_found' || m.code === 'rate_limited');
    await waitUntil('every subscribe answered', async () => answered(a).length + answered(b).length === ids.length);
    const all = [...answered(a), ...answered(b)];
    expect(all).toHaveLength(ids.length);
    const looked = all.filter((m) => m.code === 'not_found').length;
    expect(looked).toBeLessThanOrEqual(SUBSCRIBES_PER_MINUTE);
    expect(looked).toBeGreaterThanOrEqual(SUBSCRIBES_PER_MINUTE - 2);
    expect(all.filter((m) => m.code === 'rate_limited').every((m) => ids.includes(m.requestId))).toBe(true);
    const mine = randomUUID();
    other.send({ type: 'subscribe', requestId: mine });
    expect(await other.next((m) => m.requestId === mine)).toMatchObject({ code: 'not_found' });
  });

  it(`caps a tenant's sockets on this instance: the next upgrade answers 429, an auth message beyond the cap closes with ${CLOSE.tooManySockets}`, async () => {
    await closeAll();
    const held = [await open(auth('acme')), await open(auth('acme'))];
    const refused = await openSocket(url, auth('acme')).then(
      () => undefined,
      (err: { statusCode?: number }) => err.statusCode,
    );
    expect(refused).toBe(429);

    const byMessage = await open();
    byMessage.send({ type: 'auth', token: TENANTS.acme.secret });
    expect((await byMessage.closed).code).toBe(CLOSE.tooManySockets);

    // another tenant is not affected, and a closed socket gives its slot back
    const other = await open(auth('globex'));
    expect(other.ws.readyState).toBe(other.ws.OPEN);
    held[0]!.ws.close();
    await held[0]!.closed;
    const again = await open();
    again.send({ type: 'auth', token: TENANTS.acme.secret });
    await again.next((m) => m.type === 'authenticated');
  });

  it('counts upgrades with a wrong key against the address: 401, then 429 once the address has spent its budget', async () => {
    const statuses: (number | undefined)[] = [];
    for (let i = 0; i < PER_ADDRESS + 2; i++) {
      statuses.push(
        await openSocket(url, { authorization: 'Bearer sk_wrong_0123456789' }).then(
          () => 101,
          (err: { statusCode?: number }) => err.statusCode,
        ),
      );
    }
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
    expect(statuses.at(-1)).toBe(429);
    // the tenant's own upgrades from the same address still pass: its budget is its own
    const own = await open(auth('globex'));
    expect(own.ws.readyState).toBe(own.ws.OPEN);
  });
});
