import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { createTestContext, type TestContext } from '../../../test/helpers/context.ts';
import { processNow, submit, type Tenant } from '../../../test/helpers/submit.ts';
import { ledger } from '../app.ts';
import type { LedgerDatabase } from '../database.ts';

/** A test context (see createTestContext) whose API and workers run the ledger. */
export function createLedgerContext(env: Parameters<typeof createTestContext>[0] = {}): Promise<TestContext> {
  return createTestContext(env, ledger);
}

/** The test's database with the ledger's tables too. */
export const ledgerDb = (ctx: TestContext) => ctx.db.$extendTables<LedgerDatabase>();

/** Creates an account and waits for it (a worker must run); returns its id. */
export async function openAccount(
  app: FastifyInstance,
  openingBalance: number,
  opts: { currency?: string; tenant?: Tenant } = {},
): Promise<string> {
  const res = await submit(
    app,
    '/v1/accounts',
    { currency: opts.currency ?? 'USD', openingBalance },
    { tenant: opts.tenant, headers: { prefer: 'wait=10' } },
  );
  expect(res.statusCode, res.body).toBe(200);
  return res.json().result.accountId;
}

/** Opens an account without a worker: submits it, then runs it here. Returns its id. */
export async function openAccountNow(
  ctx: TestContext,
  app: FastifyInstance,
  openingBalance: number,
  opts: { currency?: string; tenant?: Tenant } = {},
): Promise<string> {
  const res = await submit(app, '/v1/accounts', { currency: opts.currency ?? 'USD', openingBalance }, { tenant: opts.tenant });
  expect(res.statusCode, res.body).toBe(202);
  const row = await processNow(ctx, res.json().id);
  expect(row.status).toBe('succeeded');
  return (row.result as { accountId: string }).accountId;
}

/** Inserts an account straight into the test's database (no request, no worker); returns its id. */
export async function insertAccount(ctx: TestContext, balance: number, opts: { tenant?: string; currency?: string } = {}): Promise<string> {
  const { id } = await ledgerDb(ctx)
    .insertInto('ledger.accounts')
    .values({ tenant_id: opts.tenant ?? 'acme', currency: opts.currency ?? 'USD', balance, name: null, created_by_request: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export async function balanceOf(ctx: TestContext, accountId: string): Promise<number> {
  const { balance } = await ledgerDb(ctx)
    .selectFrom('ledger.accounts')
    .select('balance')
    .where('id', '=', accountId)
    .executeTakeFirstOrThrow();
  return balance;
}

/** How many payment rows a request produced. */
export async function paymentsOf(ctx: TestContext, requestId: string): Promise<number> {
  const rows = await ledgerDb(ctx).selectFrom('ledger.payments').select('id').where('request_id', '=', requestId).execute();
  return rows.length;
}
