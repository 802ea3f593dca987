import type pg from 'pg';

/** A payment the chaos run sent: its key, whether it was meant to fail, and every id a 2xx answer named. */
export interface PaymentPlan {
  key: string;
  /** asks for more than all the money there is: must end `failed` with insufficient_funds */
  doomed: boolean;
  ids: Set<string>;
}

export interface OpenedAccount {
  id: string;
  opening: number;
}

const TERMINAL = new Set(['succeeded', 'failed']);

/**
 * The verdict, from Postgres alone, after the run: returns one line per violation (empty: none).
 * - every key the client sent was accepted, every answer for a key named the same request, and
 *   that request exists under that key and is terminal; no request at all is left unfinished;
 * - outcomes are the ones the ledger allows: a doomed payment failed with insufficient_funds,
 *   any other ended succeeded or failed with insufficient_funds (never processing_failed);
 * - each succeeded payment request has exactly one payment row, matching its payload, and no
 *   payment row lacks a succeeded request;
 * - every balance is opening + credits - debits, and the sum of balances is unchanged.
 */
export async function checkLedger(pool: pg.Pool, plans: PaymentPlan[], accounts: OpenedAccount[]): Promise<string[]> {
  const violations: string[] = [];
  const { rows: requests } = await pool.query<{ id: string; idempotency_key: string; status: string; error: { code: string } | null }>(
    'select id, idempotency_key, status, error from idemq.requests',
  );
  const byId = new Map(requests.map((r) => [r.id, r]));
  for (const r of requests) if (!TERMINAL.has(r.status)) violations.push(`request ${r.id} (${r.idempotency_key}) still ${r.status}`);

  for (const plan of plans) {
    if (plan.ids.size === 0) {
      violations.push(`key ${plan.key} was never accepted`);
      continue;
    }
    if (plan.ids.size > 1) violations.push(`key ${plan.key} was answered with ${plan.ids.size} different ids: ${[...plan.ids].join(', ')}`);
    for (const id of plan.ids) {
      const row = byId.get(id);
      if (!row) violations.push(`key ${plan.key} got a 202 for ${id}, which Postgres does not hold`);
      else if (row.idempotency_key !== plan.key) violations.push(`key ${plan.key} got the id ${id} of key ${row.idempotency_key}`);
      else if (plan.doomed && (row.status !== 'failed' || row.error?.code !== 'insufficient_funds')) {
        violations.push(`key ${plan.key} asked for more than all the money but ended ${row.status} ${row.error?.code ?? ''}`);
      } else if (row.status === 'failed' && row.error?.code !== 'insufficient_funds') {
        violations.push(`key ${plan.key} failed with ${row.error?.code}: not a business outcome`);
      }
    }
  }

  const { rows: miscounted } = await pool.query<{ id: string; n: string }>(`
    select r.id, count(p.id) as n from idemq.requests r left join ledger.payments p on p.request_id = r.id
     where r.operation = 'payments.create' and r.status = 'succeeded' group by r.id having count(p.id) <> 1`);
  for (const r of miscounted) violations.push(`succeeded payment request ${r.id} has ${r.n} payment rows`);
  const { rows: orphans } = await pool.query<{ id: string; status: string | null }>(`
    select p.id, r.status from ledger.payments p left join idemq.requests r on r.id = p.request_id
     where r.id is null or r.status <> 'succeeded'`);
  for (const p of orphans) violations.push(`payment ${p.id} has no succeeded request (request ${p.status ?? 'missing'})`);
  const { rows: altered } = await pool.query<{ id: string }>(`
    select p.id from ledger.payments p join idemq.requests r on r.id = p.request_id
     where p.from_account::text <> lower(r.payload->>'fromAccount') or p.to_account::text <> lower(r.payload->>'toAccount')
        or p.amount <> (r.payload->>'amount')::bigint`);
  for (const p of altered) violations.push(`payment ${p.id} does not match its request's payload`);

  const { rows: balances } = await pool.query<{ id: string; balance: number; credits: number; debits: number }>(`
    select a.id, a.balance::float8 as balance,
           coalesce((select sum(amount) from ledger.payments where to_account = a.id), 0)::float8 as credits,
           coalesce((select sum(amount) from ledger.payments where from_account = a.id), 0)::float8 as debits
      from ledger.accounts a`);
  const opening = new Map(accounts.map((a) => [a.id, a.opening]));
  if (balances.length !== accounts.length) violations.push(`${balances.length} accounts exist, ${accounts.length} were opened`);
  for (const b of balances) {
    const open = opening.get(b.id);
    if (open === undefined) violations.push(`account ${b.id} was not opened by this run`);
    else if (b.balance !== open + b.credits - b.debits) {
      violations.push(`account ${b.id}: balance ${b.balance} != opening ${open} + credits ${b.credits} - debits ${b.debits}`);
    }
  }
  const total = balances.reduce((sum, b) => sum + b.balance, 0);
  const opened = accounts.reduce((sum, a) => sum + a.opening, 0);
  if (total !== opened) violations.push(`sum of balances ${total} != sum of opening balances ${opened}`);
  return violations;
}
