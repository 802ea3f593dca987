import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE, WS_LIMITS } from '../../src/http/ws-session.ts';
import { auth, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/ledger.ts';
import { openSocket, type TestSocket } from '../helpers/ws-client.ts';

const PER_SECOND = 5;
// a socket may subscribe to as many requests at once as it may follow
const BURST = WS_LIMITS.maxSubscriptions;
const MAX_SOCKETS = 2;
const PER_ADDRESS = 10;

describe(`WebSocket limits (WS_SUBSCRIBES_PER_SECOND=${PER_SECOND}, MAX_SOCKETS_PER_TENANT=${MAX_SOCKETS})`, () => {
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
    ctx = await createTestContext({ WS_SUBSCRIBES_PER_SECOND: String(PER_SECOND), MAX_SOCKETS_PER_TENANT: String(MAX_SOCKETS), RATE_LIMIT_PER_ADDRESS_PER_MINUTE: String(PER_ADDRESS) });
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/ws`;
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await ctx.close();
  });

  it('answers a subscribe flood with rate_limited errors, handles no more than the burst, then closes the socket; another tenant\'s socket is unaffected', async () => {
    const res = await submit(app, '/v1/accounts', { currency: 'USD', openingBalance: 3 }, { tenant: 'globex' });
    const globexRequest = res.json().id as string;
    const flooder = await open(auth('acme'));
    const bystander = await open(auth('globex'));

    const sent = 10_000;
    // ids that are not uuids are answered `not_found` at once, so every handled message shows before the close
    for (let i = 0; i < sent; i++) flooder.ws.send(JSON.stringify({ type: 'subscribe', requestId: `flood-${i}` }));
    bystander.send({ type: 'subscribe', requestId: globexRequest });

    expect((await flooder.closed).code).toBe(CLOSE.subscribeFlood);
    const handled = flooder.messages.filter((m) => m.code === 'not_found');
    const limited = flooder.messages.filter((m) => m.code === 'rate_limited');
    // the flood got no more handled than the burst (and what refilled meanwhile)
    expect(handled.length).toBeGreaterThan(0);
    expect(handled.length).toBeLessThanOrEqual(BURST + PER_SECOND * 2);
    expect(limited.length).toBeGreaterThanOrEqual(WS_LIMITS.floodCloseAfter - 1);
    expect(limited.length + handled.length).toBeLessThan(sent);
    // the refusal names the subscription, so a client can send it again later
    expect(limited.every((m) => typeof m.requestId === 'string' && /subscribes a second/.test(m.message))).toBe(true);

    const pushed = await bystander.next((m) => m.type === 'status' && m.requestId === globexRequest);
    expect(pushed.status).toBe('queued');
    expect(bystander.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
  });

  it('lets a client a little over the rate keep its socket: refused subscribes are answered, later ones handled, unsubscribes never limited', async () => {
    await closeAll();
    const socket = await open(auth('acme'));
    for (let i = 0; i < BURST + 10; i++) socket.send({ type: 'subscribe', requestId: `not-a-uuid-${i}` });
    await socket.next((m) => m.code === 'rate_limited');
    for (let i = 0; i < 50; i++) socket.send({ type: 'unsubscribe', requestId: `not-a-uuid-${i}` });
    await new Promise((r) => setTimeout(r, 1_000 / PER_SECOND + 50));
    socket.send({ type: 'subscribe', requestId: 'after-a-pause' });
    await socket.next((m) => m.code === 'not_found' && m.requestId === 'after-a-pause');
    // ten over the burst, less what refilled while they were sent
    const refused = socket.messages.filter((m) => m.code === 'rate_limited').length;
    expect(refused).toBeGreaterThanOrEqual(8);
    expect(refused).toBeLessThanOrEqual(10);
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
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
      statuses.push(await openSocket(url, { authorization: 'Bearer sk_wrong_0123456789' }).then(() => 101, (err: { statusCode?: number }) => err.statusCode));
    }
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
    expect(statuses.at(-1)).toBe(429);
    // the tenant's own upgrades from the same address still pass: its budget is its own
    const own = await open(auth('globex'));
    expect(own.ws.readyState).toBe(own.ws.OPEN);
  });
});
