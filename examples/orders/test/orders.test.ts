import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdminApp, createApiDeps, idemqPlugin, openapiDocument } from '../../../src/index.ts';
import { adminAuth, auth, createTestContext, type TestContext } from '../../../test/helpers/context.ts';
import { awaitTerminal, submit } from '../../../test/helpers/submit.ts';
import { expectProblem } from '../../../test/helpers/problem.ts';
import { orders } from '../app.ts';
import type { OrdersDatabase } from '../database.ts';

// An outside app on idemq: the API registered as a plugin in the app's own Fastify instance, next
// to a route of its own, and a worker that runs only orders.create.
describe('examples/orders, built only on src/index.ts', () => {
  let ctx: TestContext;
  let host: FastifyInstance;
  let admin: FastifyInstance;
  let closeDeps: () => Promise<void>;
  const rowsOf = (requestId: string) =>
    ctx.db.$extendTables<OrdersDatabase>().selectFrom('orders.orders').selectAll().where('request_id', '=', requestId).execute();

  beforeAll(async () => {
    ctx = await createTestContext({}, orders);
    const { deps, admin: adminDeps, close } = await createApiDeps(ctx.config, pino({ level: 'silent' }), [orders.migrations!]);
    closeDeps = close;
    host = Fastify();
    host.get('/shop/hello', async () => ({ hello: 'from the host app' }));
    await host.register(idemqPlugin, { deps, operations: orders.operations });
    await host.ready();
    // the host's admin plane: the document of the plugin it registered, on a server of its own
    admin = await buildAdminApp({ ...adminDeps, openapi: openapiDocument(host) });
    await ctx.startWorker();
  });
  afterAll(async () => {
    await admin?.close();
    await host?.close();
    await closeDeps?.();
    await ctx?.close();
  });

  it('places an order once: submit, replay, completes once, one row', async () => {
    const key = randomUUID();
    const first = await submit(host, '/v1/orders', { sku: 'SKU-1', quantity: 3 }, { key });
    expect(first.statusCode, first.body).toBe(202);
    const { id } = first.json();
    const done = await awaitTerminal(host, id);
    expect(done.status).toBe('succeeded');
    expect(done.result).toMatchObject({ sku: 'SKU-1', quantity: 3 });
    const replay = await submit(host, '/v1/orders', { sku: 'SKU-1', quantity: 3 }, { key });
    expect(replay.statusCode).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().id).toBe(id);
    expect(replay.json().result).toEqual(done.result);
    const rows = await rowsOf(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tenant_id: 'acme', sku: 'SKU-1', quantity: 3, id: done.result.orderId });
    const versions = await ctx.db.selectFrom('idemq.requests').select('version').where('id', '=', id).executeTakeFirstOrThrow();
    // queued -> processing -> succeeded: completed exactly once
    expect(versions.version).toBe(3);
  });

  it('refuses the same key with another body (422), leaving the first order alone', async () => {
    const key = randomUUID();
    const first = await submit(host, '/v1/orders', { sku: 'SKU-2', quantity: 1 }, { key });
    const { id } = first.json();
    expectProblem(await submit(host, '/v1/orders', { sku: 'SKU-2', quantity: 2 }, { key }), 422, 'idempotency-key-reused');
    await awaitTerminal(host, id);
    expect(await rowsOf(id)).toHaveLength(1);
  });

  it('answers hostile input with problems and records nothing: bad bodies, no key, no auth', async () => {
    expectProblem(await submit(host, '/v1/orders', { sku: 'SKU-3', quantity: 0 }), 400, 'invalid-request');
    expectProblem(await submit(host, '/v1/orders', { sku: 'SKU-3', quantity: 1, price: 1 }), 400, 'invalid-request');
    expectProblem(await submit(host, '/v1/orders', { sku: 'lower case', quantity: 1 }), 400, 'invalid-request');
    const noKey = await host.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { ...auth(), 'content-type': 'application/json' },
      payload: '{"sku":"SKU-3","quantity":1}',
    });
    expectProblem(noKey, 400, 'idempotency-key-missing');
    const noAuth = await host.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { 'idempotency-key': 'k', 'content-type': 'application/json' },
      payload: '{"sku":"SKU-3","quantity":1}',
    });
    expectProblem(noAuth, 401, 'unauthorized');
    const { n } = await ctx.db
      .selectFrom('idemq.requests')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('operation', '=', 'orders.create')
      .where('payload', '@>', JSON.stringify({ sku: 'SKU-3' }))
      .executeTakeFirstOrThrow();
    expect(Number(n)).toBe(0);
  });

  it("keeps tenants apart: another tenant's request is not found", async () => {
    const { id } = (await submit(host, '/v1/orders', { sku: 'SKU-4', quantity: 1 })).json();
    expectProblem(await host.inject({ method: 'GET', url: `/v1/requests/${id}`, headers: auth('globex') }), 404, 'not-found');
  });

  it('stores a refusal as the outcome, writing nothing', async () => {
    const { id } = (await submit(host, '/v1/orders', { sku: 'SKU-0000', quantity: 1 })).json();
    const done = await awaitTerminal(host, id);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'sku_discontinued' } });
    expect(await rowsOf(id)).toHaveLength(0);
  });

  it('lives next to the host app: its own routes and 404s stay its own, the document shows the output', async () => {
    expect((await host.inject({ method: 'GET', url: '/shop/hello' })).json()).toEqual({ hello: 'from the host app' });
    expect((await host.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(404);
    const doc = (await admin.inject({ method: 'GET', url: '/docs/json', headers: adminAuth })).json();
    const answer = doc.paths['/v1/orders'].post.responses['202'].content['application/json'].schema;
    expect(answer.properties.result.properties).toHaveProperty('orderId');
    expect(doc.paths).not.toHaveProperty('/v1/payments');
  });
});
