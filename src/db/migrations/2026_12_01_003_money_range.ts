import { type Kysely, sql } from 'kysely';
import * as applyPayments from './2026_11_27_002_apply_payments.ts';

/**
 * Every amount and balance is an integer in minor units from 0 to 2^53 - 1, the range every JSON
 * parser reads exactly (I-JSON, RFC 7493). Postgres enforces it on the tables, and apply_payments
 * refuses a payment that would take the destination past it (`balance_limit_exceeded`), writing
 * nothing, like its other refusals. Fails, naming the constraint, on a database that already holds
 * a balance or amount beyond it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table accounts add constraint accounts_balance_max check (balance <= 9007199254740991)`.execute(db);
  await sql`alter table payments add constraint payments_amount_max check (amount <= 9007199254740991)`.execute(db);
  await sql`
    create or replace function apply_payments(items jsonb)
    returns table (ord bigint, payment_id uuid, from_balance bigint, to_balance bigint, refusal text)
    language plpgsql as $fn$
    declare
      it record;
      src accounts%rowtype;
      dst accounts%rowtype;
    begin
      for it in
        select t.ord as n, x.*
          from jsonb_array_elements(items) with ordinality as t(item, ord),
               jsonb_to_record(t.item) as x(request_id uuid, tenant_id text, from_account uuid, to_account uuid,
                                            amount bigint, currency text, description text)
         order by t.ord
      loop
        ord := it.n; payment_id := null; from_balance := null; to_balance := null; refusal := null;
        select a.* into src from accounts a where a.id = it.from_account and a.tenant_id = it.tenant_id;
        select a.* into dst from accounts a where a.id = it.to_account and a.tenant_id = it.tenant_id;
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
          update accounts a set balance = a.balance - it.amount where a.id = src.id returning a.balance into from_balance;
          update accounts a set balance = a.balance + it.amount where a.id = dst.id returning a.balance into to_balance;
          insert into payments (tenant_id, request_id, from_account, to_account, amount, currency, description)
          values (it.tenant_id, it.request_id, src.id, dst.id, it.amount, it.currency, it.description)
          returning id into payment_id;
        end if;
        return next;
      end loop;
    end
    $fn$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function apply_payments(jsonb)`.execute(db);
  await applyPayments.up(db);
  await sql`alter table payments drop constraint payments_amount_max`.execute(db);
  await sql`alter table accounts drop constraint accounts_balance_max`.execute(db);
}
