import type { AppRoutes } from './http/api-deps.ts';
import type { MigrationSet } from './db/migrator.ts';
import type { Operation } from './operations/operation.ts';

/**
 * An app built on idemq: what its API, workers and migrations need, in one value that its entry
 * points pass to runApiProcess, runWorkerProcess and runMigrateProcess.
 */
export interface IdemqApp {
  /** every operation the app runs; names and routes must be distinct */
  operations: readonly Operation[];
  /** the app's own migrations, in its own schema; run after the core's */
  migrations?: MigrationSet;
  /** the app's own routes (reads of what its operations wrote), inside the authenticated /v1 scope */
  routes?: readonly AppRoutes[];
}

/** The app's migration sets as the core's functions take them. */
export function appMigrations(app: IdemqApp): MigrationSet[] {
  return app.migrations ? [app.migrations] : [];
}
