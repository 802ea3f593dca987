import { runMigrateProcess } from './run-migrate.ts';

// CLI: the core's migrations only. An app runs its own entry point (examples/ledger/migrate.ts),
// which runs the core's and then the app's.
await runMigrateProcess();
