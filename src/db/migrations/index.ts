import type { Migration } from 'kysely/migration';
import * as initial from './2026_11_27_001_initial.ts';
import * as applyPayments from './2026_11_27_002_apply_payments.ts';
import * as moneyRange from './2026_12_01_003_money_range.ts';
import * as retentionFromCompletion from './2026_12_01_004_retention_from_completion.ts';
import * as requestLeases from './2026_12_02_005_request_leases.ts';

/** Every migration, by name; names sort in the order they run. Add new ones here. */
export const migrations: Record<string, Migration> = {
  '2026_11_27_001_initial': initial,
  '2026_11_27_002_apply_payments': applyPayments,
  '2026_12_01_003_money_range': moneyRange,
  '2026_12_01_004_retention_from_completion': retentionFromCompletion,
  '2026_12_02_005_request_leases': requestLeases,
};
