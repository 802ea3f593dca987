import { loadConfigOrExit } from '../load-config-or-exit.ts';
import { createDb } from './create-db.ts';
import { ensureDatabase, migrateToLatest } from './migrator.ts';

// CLI: `npm run migrate`. Exits non-zero on any failure, so a release step stops there.
const config = loadConfigOrExit({ servesApi: false });
try {
  if (await ensureDatabase(config.databaseUrl)) console.log('created the database');
  const { db } = createDb({ connectionString: config.databaseUrl, poolSize: 1, applicationName: 'idemq-migrate' });
  try {
    const applied = await migrateToLatest(db);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
  } finally {
    await db.destroy();
  }
} catch (err) {
  console.error('migration failed:', err);
  process.exitCode = 1;
}
