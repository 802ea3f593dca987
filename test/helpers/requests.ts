import { sql } from 'kysely';
import type { TestContext } from './context.ts';

/** The idempotency record `id` as the database holds it (undefined if there is none). */
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
