import type { Migration } from 'kysely/migration';
import * as idemqSchema from './2026_12_02_001_idemq_schema.ts';
import * as requestLeases from './2026_12_02_002_request_leases.ts';
import * as apiKeys from './2026_12_02_003_api_keys.ts';
import * as statusHistory from './2026_12_02_004_status_history.ts';
import * as outboxBatchRows from './2026_12_02_005_outbox_batch_rows.ts';
import * as deployment from './2026_12_07_006f_deployment.ts';
import * as adminSessions from './2026_12_07_006g_admin_sessions.ts';
import * as requestList from './2026_12_07_006h_request_list.ts';

/**
 * The core's migrations, by name; names sort in the order they run. They are recorded in
 * `idemq.kysely_migration`, apart from any app's (see migrate).
 */
export const coreMigrations: Record<string, Migration> = {
  '2026_12_02_001_idemq_schema': idemqSchema,
  '2026_12_02_002_request_leases': requestLeases,
  '2026_12_02_003_api_keys': apiKeys,
  '2026_12_02_004_status_history': statusHistory,
  '2026_12_02_005_outbox_batch_rows': outboxBatchRows,
  '2026_12_07_006f_deployment': deployment,
  '2026_12_07_006g_admin_sessions': adminSessions,
  '2026_12_07_006h_request_list': requestList,
};
