import { type Kysely, sql } from 'kysely';

/**
 * The ledger's tables and apply_payments in its own schema, `ledger`. A database laid out by
 * earlier releases (accounts, payments and apply_payments in `public`) has the tables moved, rows,
 * constraints and all, and apply_payments made again in `ledger` (its body names the tables).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create schema if not exists ledger`.execute(db);
  const { rows } = await sql<{ found: boolean }>`select to_regclass('public.accounts') is not null as found`.execute(db);
  if (rows[0]?.found === true) {
    await sql`alter table public.accounts set schema ledger`.execute(db);
    await sql`alter table public.payments set schema ledger`.execute(db);
    await sql`drop function if exists public.apply_payments(jsonb)`.execute(db);
  } else {
    await createTables(db);
  }
  await createApplyPayments(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function ledger.apply_payments(jsonb)`.execute(db);
  await sql`drop table ledger.payments`.execute(db);
  await sql`drop table ledger.accounts`.execute(db);
}

/**
 * Every amount and balance is an integer in minor units from 0 to 2^53 - 1, the range every JSON
 * parser reads exactly (I-JSON, RFC 7493); Postgres enforces it on the tables.
 */
async function createTables(db: Kysely<any>): Promise<void> {
  await sql`
    create table ledger.accounts (
      id uuid primary key default gen_random_uuid(),
      tenant_id text not null,
      currency text not null,
      balance bigint not null check (balance >= 0) constraint accounts_balance_max check (balance <= 9007199254740991),
      name text,
      -- unique: the account an accounts.create request made, once
      created_by_request uuid unique,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index accounts_tenant_idx on ledger.accounts (tenant_id)`.execute(db);
  await sql`
    create table ledger.payments (
      id uuid primary key default gen_random_uuid(),
      tenant_id text not null,
      request_id uuid unique,
      from_account uuid not null references ledger.accounts (id),
      to_account uuid not null references ledger.accounts (id),
      amount bigint not null check (amount > 0) constraint payments_amount_max check (amount <= 9007199254740991),
      currency text not null,
      description text,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index payments_from_idx on ledger.payments (from_account)`.execute(db);
  await sql`create index payments_to_idx on ledger.payments (to_account)`.execute(db);
}

/**
 * apply_payments(items jsonb): runs a batch of payments inside Postgres, one after the other, in
 * the caller's transaction: one round trip for the batch instead of one or more per payment (the
 * worker's time went mostly to socket writes). Each item is
 * `{request_id, tenant_id, from_account, to_account, amount, currency, description}`; each yields
 * one row, in item order (`ord`), with the payment and both new balances, or a `refusal` code and
 * no write at all; a payment that would take the destination past 2^53 - 1 is refused
 * (`balance_limit_exceeded`). The caller has locked the accounts (payments.create's lockForBatch).
 */
async function createApplyPayments(db: Kysely<any>): Promise<void> {
  await sql`
    create function ledger.apply_payments(items jsonb)
    returns table (ord bigint, payment_id uuid, from_balance bigint, to_balance bigint, refusal text)
    language plpgsql as $fn$
    declare
      it record;
      src ledger.accounts%rowtype;
      dst ledger.accounts%rowtype;
    begin
      for it in
        select t.ord as n, x.*
          from jsonb_array_elements(items) with ordinality as t(item, ord),
               jsonb_to_record(t.item) as x(request_id uuid, tenant_id text, from_account uuid, to_account uuid,
                                            amount bigint, currency text, description text)
         order by t.ord
      loop
        ord := it.n; payment_id := null; from_balance := null; to_balance := null; refusal := null;
        select a.* into src from ledger.accounts a where a.id = it.from_account and a.tenant_id = it.tenant_id;
        select a.* into dst from ledger.accounts a where a.id = it.to_account and a.tenant_id = it.tenant_id;
        if src.id is null then
          refusal := 'from_not_found';
        elsif dst.id is null then
          refusal := 'to_not_found';
        elsif src.id = dst.id then
          refusal := 'same_account';
        elsif src.currency <> it.currency or dst.currency <> it.currency then
          refusal := 'currency_mismatch';
        elsif src.balance < it.amount then
          refusal := 'insufficient_funds';
        elsif dst.balance > 9007199254740991 - it.amount then
          refusal := 'balance_limit_exceeded';
        else
          update ledger.accounts a set balance = a.balance - it.amount where a.id = src.id returning a.balance into from_balance;
          update ledger.accounts a set balance = a.balance + it.amount where a.id = dst.id returning a.balance into to_balance;
          insert into ledger.payments (tenant_id, request_id, from_account, to_account, amount, currency, description)
          values (it.tenant_id, it.request_id, src.id, dst.id, it.amount, it.currency, it.description)
          returning id into payment_id;
        end if;
        return next;
      end loop;
    end
    $fn$`.execute(db);
}
