import type { Kysely } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import pg from 'pg';
import { coreMigrations } from './migrations/index.ts';

/**
 * A set of migrations with its own record: an app's live in the app's own Postgres schema, and are
 * recorded there (`<schema>.kysely_migration`), apart from the core's and any other app's.
 */
export interface MigrationSet {
  /** the Postgres schema the set's migration table lives in (created if missing), e.g. `ledger` */
  schema: string;
  /** migrations by name; names sort in the order they run */
  migrations: Record<string, Migration>;
}

/** The core's own set: tables and migration record in the `idemq` schema. */
export const CORE_MIGRATIONS: MigrationSet = { schema: 'idemq', migrations: coreMigrations };

/** The sets a process needs, in the order they run: always the core's first, then the app's. */
export function migrationSets(appSets: readonly MigrationSet[] = []): MigrationSet[] {
  if (appSets.some((s) => s.schema === CORE_MIGRATIONS.schema)) {
    throw new Error(
      `An app's migrations cannot be recorded in the core's schema "${CORE_MIGRATIONS.schema}"; give them the app's own schema.`,
    );
  }
  return [CORE_MIGRATIONS, ...appSets];
}

/**
 * Brings the database to the latest migrations: the core's, then each app set in order, each
 * recorded in its own schema's migration table. Returns the names applied, `schema/name`. Throws,
 * with the failing migration named, on any failure; the sets after it do not run.
 */
export async function migrate(db: Kysely<any>, appSets: readonly MigrationSet[] = []): Promise<string[]> {
  const applied: string[] = [];
  for (const set of migrationSets(appSets)) {
    const migrator = new Migrator({ db, migrationTableSchema: set.schema, provider: { getMigrations: async () => set.migrations } });
    const { error, results = [] } = await migrator.migrateToLatest();
    const failed = results.find((r) => r.status === 'Error');
    if (error) {
      throw new Error(`migration ${set.schema}/${failed?.migrationName ?? '(none)'} failed: ${String(error)}`, { cause: error });
    }
    applied.push(...results.filter((r) => r.status === 'Success').map((r) => `${set.schema}/${r.migrationName}`));
  }
  return applied;
}

/** Creates the database named in the URL when it does not exist yet (a fresh machine). */
export async function ensureDatabase(connectionString: string): Promise<boolean> {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.slice(1));
  const probe = new pg.Client({ connectionString });
  try {
    await probe.connect();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err;
  } finally {
    await probe.end().catch(() => undefined);
  }
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  } catch (err) {
    // 42P04: another process created it first
    if ((err as { code?: string }).code !== '42P04') throw err;
  } finally {
    await admin.end();
  }
  return true;
}
