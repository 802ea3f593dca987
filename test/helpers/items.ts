import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { FixtureDatabase } from '../fixtures/app/items.table.ts';
import type { TestContext } from './context.ts';
import { processNow, submit, type Tenant } from './submit.ts';

/** The fixture operation's route and a body for it: an item of `quantity` (taken from `takeFrom` if given). */
export const ITEMS = '/v1/items';
export const item = (quantity: number, takeFrom?: string, name = 'item') => ({
  name,
  quantity,
  ...(takeFrom !== undefined && { takeFrom }),
});

/** The test's database with the fixture's table too. */
export const fixtureDb = (ctx: TestContext) => ctx.db.$extendTables<FixtureDatabase>();

/** Makes an item through the API and waits for it (a worker must run); returns its id. */
export async function createItem(app: FastifyInstance, quantity: number, opts: { tenant?: Tenant } = {}): Promise<string> {
  const res = await submit(app, ITEMS, item(quantity), { tenant: opts.tenant, headers: { prefer: 'wait=10' } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().result.itemId;
}

/** Makes an item without a worker: submits it, then runs it here. Returns its id. */
export async function createItemNow(
  ctx: TestContext,
  app: FastifyInstance,
  quantity: number,
  opts: { tenant?: Tenant } = {},
): Promise<string> {
  const res = await submit(app, ITEMS, item(quantity), { tenant: opts.tenant });
  expect(res.statusCode, res.body).toBe(202);
  const row = await processNow(ctx, res.json().id);
  expect(row.status).toBe('succeeded');
  return (row.result as { itemId: string }).itemId;
}

/** Inserts an item straight into the test's database (no request, no worker); returns its id. */
export async function insertItem(ctx: TestContext, quantity: number, opts: { tenant?: string } = {}): Promise<string> {
  const { id } = await fixtureDb(ctx)
    .insertInto('fixture.items')
    .values({ tenant_id: opts.tenant ?? 'acme', name: 'seeded', quantity, request_id: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

/** The quantity an item holds now. */
export async function quantityOf(ctx: TestContext, itemId: string): Promise<number> {
  const { quantity } = await fixtureDb(ctx)
    .selectFrom('fixture.items')
    .select('quantity')
    .where('id', '=', itemId)
    .executeTakeFirstOrThrow();
  return Number(quantity);
}

/** How many items a request made (its effect: 1 once it succeeded, never more). */
export async function itemsOf(ctx: TestContext, requestId: string): Promise<number> {
  const rows = await fixtureDb(ctx).selectFrom('fixture.items').select('id').where('request_id', '=', requestId).execute();
  return rows.length;
}

/** The quantity the item a request made holds (0 if it made none). */
export async function madeBy(ctx: TestContext, requestId: string): Promise<number> {
  const row = await fixtureDb(ctx).selectFrom('fixture.items').select('quantity').where('request_id', '=', requestId).executeTakeFirst();
  return Number(row?.quantity ?? 0);
}
