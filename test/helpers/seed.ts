import { sql } from 'kysely';
import type { LedgerDatabase } from '../../examples/ledger/database.ts';
import type { TestContext } from './context.ts';

/** The test's database with the ledger's tables too. */
export const ledgerDb = (ctx: TestContext) => ctx.db.$extendTables<LedgerDatabase>();

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
  const { balance } = await ledgerDb(ctx).selectFrom('ledger.accounts').select('balance').where('id', '=', accountId).executeTakeFirstOrThrow();
  return balance;
}

/** How many payment rows a request produced. */
export async function paymentsOf(ctx: TestContext, requestId: string): Promise<number> {
  const rows = await ledgerDb(ctx).selectFrom('ledger.payments').select('id').where('request_id', '=', requestId).execute();
  return rows.length;
}

export async function requestRow(ctx: TestContext, id: string) {
  return ctx.db.selectFrom('idemq.requests').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Resolves once the request is succeeded or failed; polls the database. */
export async function terminalRow(ctx: TestContext, id: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await requestRow(ctx, id);
    if (row && (row.status === 'succeeded' || row.status === 'failed')) return row;
    if (Date.now() > deadline) throw new Error(`request ${id} still ${row?.status ?? 'missing'} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Moves every record's expiry into the past, as if the TTL had run out. */
export async function expireAll(ctx: TestContext): Promise<void> {
  await sql`update idemq.requests set expires_at = now() - interval '1 second'`.execute(ctx.db);
}
