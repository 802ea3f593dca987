import { type Kysely, sql } from 'kysely';

/** Every statement on idemq.deployment: the database's one-row identity (migration 2026_12_07_006f_deployment). */

/** The database's deployment identity; throws when the table holds no row (the schema is not migrated). */
export async function readDeploymentId(db: Kysely<any>): Promise<string> {
  const { rows } = await sql<{ id: string }>`select id::text as id from idemq.deployment`.execute(db);
  const id = rows[0]?.id;
  if (!id) throw new Error('idemq.deployment holds no row: run `npm run migrate`');
  return id;
}
