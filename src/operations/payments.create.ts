import { sql } from 'kysely';
import Type from 'typebox';
import { BusinessError, defineOperation } from './operation.ts';
import { Amount, Currency, UUID_PATTERN, Uuid } from './schemas.ts';

const UUID = new RegExp(UUID_PATTERN);

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
    const ids = [...new Set(inputs.flatMap((i) => [i.fromAccount, i.toAccount]).map((id) => String(id).toLowerCase()))].filter((id) => UUID.test(id));
    if (ids.length === 0) return;
    await trx.selectFrom('accounts').select('id').where('id', 'in', ids).orderBy('id').forUpdate().execute();
  },
  async handle(trx, ctx, input) {
    const from = input.fromAccount.toLowerCase();
    const to = input.toAccount.toLowerCase();
    if (from === to) throw new BusinessError('same_account', 'fromAccount and toAccount are the same account.');
    // Lock both in id order, so two opposite payments cannot deadlock.
    const accounts = await trx
      .selectFrom('accounts')
      .select(['id', 'currency', 'balance'])
      .where('id', 'in', [from, to])
      .where('tenant_id', '=', ctx.tenantId)
      .orderBy('id')
      .forUpdate()
      .execute();
    const source = accounts.find((a) => a.id === from);
    const target = accounts.find((a) => a.id === to);
    if (!source) throw new BusinessError('account_not_found', `Account ${input.fromAccount} does not exist.`);
    if (!target) throw new BusinessError('account_not_found', `Account ${input.toAccount} does not exist.`);
    if (source.currency !== input.currency || target.currency !== input.currency) {
      throw new BusinessError('currency_mismatch', `Both accounts must hold ${input.currency}.`);
    }
    if (source.balance < input.amount) {
      throw new BusinessError('insufficient_funds', `Account ${input.fromAccount} holds less than ${input.amount}.`);
    }
    await trx
      .updateTable('accounts')
      .set({ balance: sql<number>`balance + case when id = ${to}::uuid then ${input.amount}::bigint else -${input.amount}::bigint end` })
      .where('id', 'in', [from, to])
      .execute();
    const payment = await trx
      .insertInto('payments')
      .values({
        tenant_id: ctx.tenantId,
        request_id: ctx.requestId,
        from_account: from,
        to_account: to,
        amount: input.amount,
        currency: input.currency,
        description: input.description ?? null,
      })
      .returning(['id', 'created_at'])
      .executeTakeFirstOrThrow();
    return {
      paymentId: payment.id,
      fromAccount: from,
      toAccount: to,
      amount: input.amount,
      currency: input.currency,
      fromBalance: source.balance - input.amount,
      toBalance: target.balance + input.amount,
    };
  },
});
