import { type Kysely, sql } from 'kysely';
import type { Database } from './database.ts';
import { migrations } from './migrations/index.ts';

/**
 * Throws, naming them, if the database lacks migrations this code knows: a process must not run
 * statements against a schema older than its own. Both the API and the worker call it at start.
 */
export async function assertMigrated(db: Kysely<Database>): Promise<void> {
  let applied: Set<string>;
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    applied = new Set(rows.map((r) => r.name));
  } catch (err) {
    // 42P01: no migration has ever run here
    if ((err as { code?: string }).code !== '42P01') throw err;
    applied = new Set();
  }
  const missing = Object.keys(migrations).filter((name) => !applied.has(name));
  if (missing.length > 0) {
    throw new Error(`The database lacks migrations this code needs: ${missing.join(', ')}. Run \`npm run migrate\` (with the same DATABASE_URL) before starting the API or the workers.`);
  }
}
