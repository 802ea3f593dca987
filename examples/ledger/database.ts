import type { ColumnType, Generated, Selectable } from 'kysely';

type CreatedAt = ColumnType<Date, never, never>;

export interface AccountTable {
  id: Generated<string>;
  tenant_id: string;
  currency: string;
  balance: ColumnType<number, number, number>;
  name: string | null;
  /** unique: the account an accounts.create request made, once */
  created_by_request: string | null;
  created_at: CreatedAt;
}

export interface PaymentTable {
  id: Generated<string>;
  tenant_id: string;
  /** unique: a second payment for one request is refused by Postgres itself */
  request_id: string | null;
  from_account: string;
  to_account: string;
  amount: number;
  currency: string;
  description: string | null;
  created_at: CreatedAt;
}

/** The ledger's tables, in its own Postgres schema `ledger` (a type, so Kysely's $extendTables takes it). */
export type LedgerDatabase = {
  'ledger.accounts': AccountTable;
  'ledger.payments': PaymentTable;
};

export type AccountRow = Selectable<AccountTable>;
export type PaymentRow = Selectable<PaymentTable>;
