import { type Kysely, sql } from 'kysely';
import { StartupError } from '../startup-error.ts';
import { describeConnectFailure } from './describe-connect-failure.ts';
import { type MigrationSet, migrationSets } from './migrator.ts';

/**
 * Throws a StartupError, naming them, if the database lacks migrations this code knows, the
 * core's or the app's (`appSets`): a process must not run statements against a schema older than
 * its own. Both the API and the worker call it at start, as their first statement: with
 * `databaseUrl`, a database that is missing or cannot be reached is a StartupError too, saying what to do.
 */
export async function assertMigrated(db: Kysely<any>, appSets: readonly MigrationSet[] = [], databaseUrl?: string): Promise<void> {
  const missing: string[] = [];
  try {
    for (const set of migrationSets(appSets)) {
      const applied = await appliedMigrations(db, set.schema);
      missing.push(
        ...Object.keys(set.migrations)
          .filter((name) => !applied.has(name))
          .map((name) => `${set.schema}/${name}`),
      );
    }
  } catch (err) {
    const problem = databaseUrl === undefined ? undefined : describeConnectFailure(err, databaseUrl);
    if (problem) throw new StartupError([problem], { cause: err });
    throw err;
  }
  if (missing.length > 0) {
    throw new StartupError([
      `DATABASE_URL: the database lacks migrations this code needs: ${missing.join(', ')}. Run \`npm run migrate\` (with the same DATABASE_URL) before starting the API or the workers.`,
    ]);
  }
}

async function appliedMigrations(db: Kysely<any>, schema: string): Promise<Set<string>> {
  const { rows: found } = await sql<{
    found: boolean;
  }>`select to_regclass(${`"${schema.replaceAll('"', '""')}".kysely_migration`}) is not null as found`.execute(db);
  // no such table: no migration of this set has ever run here
  if (found[0]?.found !== true) return new Set();
  const { rows } = await sql<{ name: string }>`select name from ${sql.table(`${schema}.kysely_migration`)}`.execute(db);
  return new Set(rows.map((r) => r.name));
}
