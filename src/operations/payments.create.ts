import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import Type from 'typebox';
import { BusinessError, defineOperation } from './operation.ts';
import { isUuid } from '../uuid.ts';
import { Amount, Currency, Uuid } from './schemas.ts';

export const createPayment = defineOperation({
  name: 'payments.create',
  route: '/v1/payments',
  summary: 'Move money between two accounts of the tenant',
  input: Type.Object(
    {
      fromAccount: Uuid,
      toAccount: Uuid,
      amount: Amount,
      currency: Currency,
      description: Type.Optional(Type.String({ maxLength: 500 })),
    },
    { additionalProperties: false },
  ),
  async lockForBatch(trx, inputs) {
    const ids = [...new Set(inputs.flatMap((i) => [i.fromAccount, i.toAccount]).map((id) => String(id).toLowerCase()))].filter(isUuid);
    if (ids.length === 0) return;
    await trx.selectFrom('accounts').select('id').where('id', 'in', ids).orderBy('id').forUpdate().execute();
  },
  // Runs after lockForBatch has locked both accounts (processRequests always calls it first), so
  // the whole effect is one statement; the reason for a refusal is looked up only when there is one.
  async handle(trx, ctx, input) {
    const from = input.fromAccount.toLowerCase();
    const to = input.toAccount.toLowerCase();
    if (from === to) throw new BusinessError('same_account', 'fromAccount and toAccount are the same account.');
    const { rows } = await sql<{ payment_id: string | null; from_balance: number | null; to_balance: number | null }>`
      with src as (
        update accounts set balance = balance - ${input.amount}::bigint
         where id = ${from}::uuid and tenant_id = ${ctx.tenantId} and currency = ${input.currency} and balance >= ${input.amount}::bigint
        returning balance
      ), dst as (
        update accounts set balance = balance + ${input.amount}::bigint
         where id = ${to}::uuid and tenant_id = ${ctx.tenantId} and currency = ${input.currency} and exists (select 1 from src)
        returning balance
      ), pay as (
        insert into payments (tenant_id, request_id, from_account, to_account, amount, currency, description)
        select ${ctx.tenantId}, ${ctx.requestId}::uuid, ${from}::uuid, ${to}::uuid, ${input.amount}::bigint, ${input.currency}, ${input.description ?? null}
         where exists (select 1 from dst)
        returning id
      )
      select (select id from pay) as payment_id, (select balance from src) as from_balance, (select balance from dst) as to_balance`.execute(trx);
    const done = rows[0];
    // A refusal may have debited the source already; the caller's savepoint rolls that back.
    if (!done?.payment_id) throw await refusal(trx, ctx.tenantId, input, from, to);
    return {
      paymentId: done.payment_id,
      fromAccount: from,
      toAccount: to,
      amount: input.amount,
      currency: input.currency,
      fromBalance: Number(done.from_balance),
      toBalance: Number(done.to_balance),
    };
  },
});

/** Why a payment was refused: read only after the one-statement attempt moved nothing. */
async function refusal(
  trx: Transaction<Database>,
  tenantId: string,
  input: { fromAccount: string; toAccount: string; amount: number; currency: string },
  from: string,
  to: string,
): Promise<BusinessError> {
  const accounts = await trx.selectFrom('accounts').select(['id', 'currency', 'balance']).where('id', 'in', [from, to]).where('tenant_id', '=', tenantId).execute();
  const source = accounts.find((a) => a.id === from);
  const target = accounts.find((a) => a.id === to);
  if (!source) return new BusinessError('account_not_found', `Account ${input.fromAccount} does not exist.`);
  if (!target) return new BusinessError('account_not_found', `Account ${input.toAccount} does not exist.`);
  if (source.currency !== input.currency || target.currency !== input.currency) {
    return new BusinessError('currency_mismatch', `Both accounts must hold ${input.currency}.`);
  }
  return new BusinessError('insufficient_funds', `Account ${input.fromAccount} holds less than ${input.amount}.`);
}
