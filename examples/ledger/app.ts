import type { IdemqApp } from '../../src/index.ts';
import { createAccount } from './accounts.create.ts';
import { accountRoutes } from './accounts.routes.ts';
import { ledgerMigrations } from './migrations/index.ts';
import { createPayment } from './payments.create.ts';

/** The ledger demo: accounts and payments between them, in its own schema `ledger`. */
export const ledger: IdemqApp = {
  operations: [createAccount, createPayment],
  migrations: ledgerMigrations,
  routes: [accountRoutes],
};
