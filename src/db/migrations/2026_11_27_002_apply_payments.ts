import { type Kysely, sql } from 'kysely';

/**
 * apply_payments(items jsonb): runs a batch of payments inside Postgres, one after the other, in
 * the caller's transaction: one round trip for the batch instead of one or more per payment (the
 * worker's time went mostly to socket writes). Each item is
 * `{request_id, tenant_id, from_account, to_account, amount, currency, description}`; each yields
 * one row, in item order (`ord`), with the payment and both new balances, or a `refusal` code and
 * no write at all. The caller has locked the accounts (payments.create's lockForBatch).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function apply_payments(items jsonb)
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
}
