import type { MigrationSet } from '../../../src/index.ts';
import * as orders from './2026_12_02_001_orders.ts';

/** The app's migrations, recorded in `orders.kysely_migration`, after the core's. */
export const ordersMigrations: MigrationSet = {
  schema: 'orders',
  migrations: { '2026_12_02_001_orders': orders },
};
