import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { exited, spawnNode } from './spawn.ts';

const MIGRATE = fileURLToPath(new URL('../examples/ledger/migrate.ts', import.meta.url));

export function databaseUrl(server: string, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Drops the bench database (through the `postgres` database, forcing out stale sessions of an
 * aborted run) and lets the service's own migration CLI create and migrate it again.
 */
export async function recreateDatabase(server: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name} must be a plain lower-case identifier`);
  await dropDatabase(server, name);
  const url = databaseUrl(server, name);
  const child = spawnNode(MIGRATE, { env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await exited(child);
  if (code !== 0) throw new Error(`migration of ${name} failed (exit ${code})`);
  return url;
}

export async function dropDatabase(server: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl(server, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
