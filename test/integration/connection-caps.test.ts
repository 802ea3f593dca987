import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ATTACKER, BYSTANDER, type RawClient, rawClientFrom, TENANT_ADDRESS } from '../helpers/bound-client.ts';
import { adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';
import { parseSamples, valueOf } from '../helpers/prometheus-text.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const opened: RawClient[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.socket.destroy();
});

async function listen(env: Record<string, string>): Promise<{ ctx: TestContext; app: FastifyInstance; port: number }> {
  const ctx = await createTestContext(env);
  const app = await ctx.startApi();
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { ctx, app, port: (app.server.address() as { port: number }).port };
}

async function open(from: string, port: number, first: string): Promise<RawClient> {
  const client = await rawClientFrom(from, port);
  opened.push(client);
  client.socket.write(first);
  return client;
}

/** A request from `from` on a connection of its own: the raw answer, '' if the socket was closed unanswered. */
async function served(from: string, port: number): Promise<string> {
  const client = await open(from, port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await Promise.race([client.closed, new Promise((r) => setTimeout(r, 5_000))]);
  return client.received();
}

async function metrics(ctx: TestContext, app: FastifyInstance) {
  const admin = await ctx.startAdmin(app);
  return parseSamples((await admin.inject({ url: '/metrics', headers: adminAuth })).body);
}

const PARTIAL = 'GET /healthz HTTP/1.1\r\nHost: x\r\n';
const WHOLE = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

describe('connections per address (HTTP_MAX_CONNECTIONS=10, HTTP_MAX_CONNECTIONS_PER_ADDRESS=4)', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => ({ ctx, app, port } = await listen({ HTTP_MAX_CONNECTIONS: '10', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '4' })));
  afterAll(() => ctx?.close());

  it("closes an address's sockets past its cap on arrival, and serves another address meanwhile", async () => {
    // the attacker opens every slot the server has and holds each with headers that never end
    const attacker: RawClient[] = [];
    for (let i = 0; i < 10; i++) attacker.push(await open(ATTACKER, port, PARTIAL));
    await waitUntil('the sockets past the cap closed', async () => attacker.filter((c) => c.isClosed()).length >= 6, { timeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 200));
    expect(attacker.filter((c) => !c.isClosed())).toHaveLength(4);
    expect(attacker.filter((c) => c.isClosed()).every((c) => c.received() === '')).toBe(true);

    expect(await served(TENANT_ADDRESS, port)).toContain('200 OK');
    const samples = await metrics(ctx, app);
    expect(valueOf(samples, 'idemq_http_connections_refused_total', { cap: 'address' })).toBe(6);
    expect(valueOf(samples, 'idemq_http_connections', { state: 'busy' })).toBe(4);
  }, 15_000);
});

describe('idle keep-alive sockets under pressure (HTTP_MAX_CONNECTIONS=6, HTTP_MAX_CONNECTIONS_PER_ADDRESS=4)', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => ({ ctx, app, port } = await listen({ HTTP_MAX_CONNECTIONS: '6', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '4' })));
  afterAll(() => ctx?.close());

  it('closes an idle keep-alive socket of the address holding the most to serve a new one, and refuses when none is idle', async () => {
    // four idle keep-alive sockets from one address, two from another: every slot taken
    const heavy: RawClient[] = [];
    const light: RawClient[] = [];
    for (let i = 0; i < 4; i++) heavy.push(await open(ATTACKER, port, WHOLE));
    for (let i = 0; i < 2; i++) light.push(await open(BYSTANDER, port, WHOLE));
    await waitUntil('all six answered', async () => [...heavy, ...light].every((c) => c.received().includes('200 OK')), {
      timeoutMs: 5_000,
    });

    expect(await served(TENANT_ADDRESS, port)).toContain('200 OK');
    await new Promise((r) => setTimeout(r, 100));
    expect(heavy.filter((c) => c.isClosed())).toHaveLength(1);
    expect(light.filter((c) => c.isClosed())).toHaveLength(0);

    // the slots held mid-request instead: nothing to reclaim, the arrival is refused
    for (const c of [...heavy, ...light]) c.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const busy: RawClient[] = [];
    for (let i = 0; i < 3; i++) busy.push(await open(ATTACKER, port, PARTIAL), await open(BYSTANDER, port, PARTIAL));
    await new Promise((r) => setTimeout(r, 100));
    expect(busy.every((c) => !c.isClosed())).toBe(true);
    expect(await served(TENANT_ADDRESS, port)).toBe('');
    const samples = await metrics(ctx, app);
    expect(valueOf(samples, 'idemq_http_connections_reclaimed_total')).toBe(1);
    expect(valueOf(samples, 'idemq_http_connections_refused_total', { cap: 'total' })).toBe(1);
  }, 20_000);
});
