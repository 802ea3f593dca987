import { randomBytes } from 'node:crypto';
import { createDb } from '../../src/db/create-db.ts';
import { ledgerMigrations } from '../../examples/ledger/migrations/index.ts';
import { ordersMigrations } from '../../examples/orders/migrations/index.ts';
import { fixtureMigrations } from '../fixtures/app/migrations/index.ts';
import { migrate } from '../../src/db/migrator.ts';
import { adminQuery, databaseUrl, templateName } from './postgres.ts';

/**
 * Once per run: makes sure the migrated template for the current migrations exists. It is built
 * under a scratch name and renamed once complete, so a concurrent run never clones a half-migrated
 * template, and a template is never dropped under a run that is cloning it. (Templates of older
 * migrations stay behind: another run may still be using them.)
 */
export default async function setup(): Promise<void> {
  const template = templateName();
  const exists = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
  if (exists.length === 0) await buildTemplate(template);
}

/** Runs every migration a template holds (the core's, each example app's and the test fixture's) on the database of `url`. */
export async function migrateTemplate(url: string): Promise<void> {
  const { db } = createDb({ connectionString: url, poolSize: 1 });
  try {
    await migrate(db, [ledgerMigrations, ordersMigrations, fixtureMigrations]);
  } finally {
    await db.destroy();
  }
}

async function buildTemplate(template: string): Promise<void> {
  const scratch = `idemq_test_build_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${scratch}`);
  try {
    await migrateTemplate(databaseUrl(scratch));
    await renameWhenIdle(scratch, template);
  } catch (err) {
    await adminQuery(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    // 42P04: a concurrent run built the same template first, which is just as good
    if ((err as { code?: string }).code !== '42P04') throw err;
  }
}

async function renameWhenIdle(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return void (await adminQuery(`ALTER DATABASE ${from} RENAME TO ${to}`));
    } catch (err) {
      // 55006: the migrator's backend has not exited yet
      if ((err as { code?: string }).code !== '55006' || attempt > 20) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
