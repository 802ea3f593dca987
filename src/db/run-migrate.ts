import { appMigrations, type IdemqApp } from '../app-definition.ts';
import { loadConfigOrExit } from '../load-config-or-exit.ts';
import { createDb } from './create-db.ts';
import { describeConnectFailure } from './describe-connect-failure.ts';
import { ensureDatabase, migrate } from './migrator.ts';

/**
 * A migration process (`npm run migrate`): creates the database if missing, then runs the core's
 * migrations and the app's. Sets a non-zero exit code on any failure, so a release step stops there.
 */
export async function runMigrateProcess(app: Pick<IdemqApp, 'migrations'> = {}): Promise<void> {
  const config = loadConfigOrExit({ servesApi: false });
  try {
    if (await ensureDatabase(config.databaseUrl)) console.log('created the database');
    const { db } = createDb({ connectionString: config.databaseUrl, poolSize: 1, applicationName: 'idemq-migrate' });
    try {
      const applied = await migrate(db, appMigrations({ operations: [], ...app }));
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
    } finally {
      await db.destroy();
    }
  } catch (err) {
    // a database that cannot be reached is the operator's to fix, said in words; anything else keeps its stack
    const problem = describeConnectFailure(err, config.databaseUrl);
    if (problem) console.error(`migration failed:\n  - ${problem}`);
    else console.error('migration failed:', err);
    process.exitCode = 1;
  }
}
