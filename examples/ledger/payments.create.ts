import { sql, type Transaction } from 'kysely';
import Type, { type Static } from 'typebox';
import { anyUuid, BusinessError, defineOperation, isUuid, type OperationContext } from '../../src/index.ts';
import type { LedgerDatabase } from './database.ts';
import { Amount, Currency, Uuid } from './schemas.ts';

const PaymentInput = Type.Object(
  {
    fromAccount: Uuid,
    toAccount: Uuid,
    amount: Amount,
    currency: Currency,
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
type PaymentInput = Static<typeof PaymentInput>;

export const createPayment = defineOperation({
  name: 'payments.create',
  route: '/v1/payments',
  summary: 'Move money between two accounts of the tenant',
  input: PaymentInput,
  output: Type.Object({
    paymentId: Uuid,
    fromAccount: Uuid,
    toAccount: Uuid,
    amount: Amount,
    currency: Currency,
    fromBalance: Type.Integer({ description: 'minor units, after the payment' }),
    toBalance: Type.Integer({ description: 'minor units, after the payment' }),
  }),
  async lockForBatch(trx: Transaction<LedgerDatabase>, inputs) {
    const ids = [...new Set(inputs.flatMap((i) => [i.fromAccount, i.toAccount]).map((id) => String(id).toLowerCase()))].filter(isUuid);
    if (ids.length === 0) return;
    await trx.selectFrom('ledger.accounts').select('id').where('id', '=', anyUuid(ids)).orderBy('id').forUpdate().execute();
  },
  async handle(trx, ctx, input) {
    const [outcome] = await applyPayments(trx, [{ ctx, input }]);
    if (outcome instanceof BusinessError) throw outcome;
    return outcome;
  },
  handleBatch: applyPayments,
});

/** What a payment request returns once it moved the money. */
export interface PaymentResult {
  paymentId: string;
  fromAccount: string;
  toAccount: string;
  amount: number;
  currency: string;
  fromBalance: number;
  toBalance: number;
}

/**
 * Runs the payments in order in one statement (ledger.apply_payments, of the ledger's migrations),
 * after lockForBatch has locked their accounts. Each refused payment wrote nothing and comes back
 * as the BusinessError that says why.
 */
async function applyPayments(
  trx: Transaction<LedgerDatabase>,
  calls: { ctx: OperationContext; input: PaymentInput }[],
): Promise<(PaymentResult | BusinessError)[]> {
  if (calls.length === 0) return [];
  const items = calls.map(({ ctx, input }) => ({
    request_id: ctx.requestId,
    tenant_id: ctx.tenantId,
    from_account: input.fromAccount.toLowerCase(),
    to_account: input.toAccount.toLowerCase(),
    amount: input.amount,
    currency: input.currency,
    description: input.description ?? null,
  }));
  const { rows } = await sql<{
    ord: string;
    payment_id: string | null;
    from_balance: string | null;
    to_balance: string | null;
    refusal: string | null;
  }>`
    select ord, payment_id, from_balance, to_balance, refusal from ledger.apply_payments(${JSON.stringify(items)}::jsonb) order by ord`.execute(
    trx,
  );
  if (rows.length !== calls.length) throw new Error(`apply_payments returned ${rows.length} rows for ${calls.length} payments`);
  return rows.map((row, i) => {
    const item = items[i]!;
    const { input } = calls[i]!;
    if (row.refusal) return refusal(row.refusal, input);
    return {
      paymentId: row.payment_id!,
      fromAccount: item.from_account,
      toAccount: item.to_account,
      amount: input.amount,
      currency: input.currency,
      fromBalance: Number(row.from_balance),
      toBalance: Number(row.to_balance),
    };
  });
}

/** The refusal codes of apply_payments, as the errors clients see. */
function refusal(code: string, input: PaymentInput): BusinessError {
  switch (code) {
    case 'from_not_found':
      return new BusinessError('account_not_found', `Account ${input.fromAccount} does not exist.`);
    case 'to_not_found':
      return new BusinessError('account_not_found', `Account ${input.toAccount} does not exist.`);
    case 'same_account':
      return new BusinessError('same_account', 'fromAccount and toAccount are the same account.');
    case 'currency_mismatch':
      return new BusinessError('currency_mismatch', `Both accounts must hold ${input.currency}.`);
    case 'insufficient_funds':
      return new BusinessError('insufficient_funds', `Account ${input.fromAccount} holds less than ${input.amount}.`);
    case 'balance_limit_exceeded':
      return new BusinessError(
        'balance_limit_exceeded',
        `Account ${input.toAccount} would hold more than ${Number.MAX_SAFE_INTEGER}, the most a balance may hold.`,
      );
    default:
      throw new Error(`apply_payments refused a payment with an unknown code: ${code}`);
  }
}
