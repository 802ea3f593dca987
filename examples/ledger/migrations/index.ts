import type { MigrationSet } from '../../../src/index.ts';
import * as ledgerSchema from './2026_12_02_001_ledger_schema.ts';

/** The ledger's migrations, recorded in `ledger.kysely_migration`; they run after the core's. */
export const ledgerMigrations: MigrationSet = {
  schema: 'ledger',
  migrations: {
    '2026_12_02_001_ledger_schema': ledgerSchema,
  },
};
