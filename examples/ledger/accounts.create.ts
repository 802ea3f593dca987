import type { Transaction } from 'kysely';
import Type from 'typebox';
import { defineOperation } from '../../src/index.ts';
import type { LedgerDatabase } from './database.ts';
import { Currency, Uuid } from './schemas.ts';

export const createAccount = defineOperation({
  name: 'accounts.create',
  route: '/v1/accounts',
  summary: 'Open an account with an opening balance',
  input: Type.Object(
    {
      currency: Currency,
      openingBalance: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'minor units, e.g. cents' }),
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    },
    { additionalProperties: false },
  ),
  output: Type.Object({
    accountId: Uuid,
    currency: Currency,
    balance: Type.Integer({ description: 'minor units' }),
    name: Type.Union([Type.String(), Type.Null()]),
  }),
  async handle(trx: Transaction<LedgerDatabase>, ctx, input) {
    const account = await trx
      .insertInto('ledger.accounts')
      .values({
        tenant_id: ctx.tenantId,
        currency: input.currency,
        balance: input.openingBalance,
        name: input.name ?? null,
        created_by_request: ctx.requestId,
      })
      .returning(['id', 'currency', 'balance', 'name'])
      .executeTakeFirstOrThrow();
    return { accountId: account.id, currency: account.currency, balance: account.balance, name: account.name };
  },
});
