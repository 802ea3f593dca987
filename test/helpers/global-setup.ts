import { createDb } from '../../src/db/create-db.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import { adminQuery, databaseUrl, TEMPLATE_DB } from './postgres.ts';

/** Once per run: a migrated template database that every test file clones. */
export default async function setup(): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${TEMPLATE_DB}`);
  const { db } = createDb({ connectionString: databaseUrl(TEMPLATE_DB), poolSize: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}
