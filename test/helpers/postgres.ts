import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { TEST_SERVICES } from './services.ts';

/** The server the tests use; its `postgres` database is only used to create and drop others. */
export const TEST_PG_URL = TEST_SERVICES.postgresUrl;
const TEMPLATE_PREFIX = 'idemq_test_template_';

/** Every migration the template runs: the core's, each example app's and the test fixture's. */
const MIGRATION_DIRS = [
  'src/db/migrations/',
  'examples/ledger/migrations/',
  'examples/orders/migrations/',
  'test/fixtures/app/migrations/',
];
const ROOT = new URL('../../', import.meta.url);

/**
 * The migrated template's name, derived from the migrations' text. Runs that share the server
 * (several engineers, CI) share a template while the migrations agree, and never drop one another
 * is cloning: a changed migration simply names a new template.
 */
export function templateName(): string {
  const hash = createHash('sha256');
  for (const dir of MIGRATION_DIRS) {
    const url = new URL(dir, ROOT);
    for (const file of readdirSync(url).sort()) hash.update(`${dir}${file}\0${readFileSync(new URL(file, url))}\0`);
  }
  return TEMPLATE_PREFIX + hash.digest('hex').slice(0, 12);
}

export function databaseUrl(name: string, server = TEST_PG_URL): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** One statement on `server`'s `postgres` database (by default the tests' server). */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  values?: unknown[],
  server = TEST_PG_URL,
): Promise<R[]> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A fresh database cloned from the migrated template (graphile-worker's way): each test file
 * gets its own, so files run in parallel without seeing each other's rows. `server` (the `postgres`
 * database of another cluster, such as a private primary) must hold `template`.
 */
export async function createTestDatabase(
  server = TEST_PG_URL,
  template = templateName(),
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `idemq_test_${randomBytes(6).toString('hex')}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${template}`, [], server);
      break;
    } catch (err) {
      // 55006: the template is briefly in use by a concurrent clone
      if ((err as { code?: string }).code !== '55006' || attempt > 20) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  return {
    url: databaseUrl(name, server),
    name,
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, [], server).then(() => undefined),
  };
}
