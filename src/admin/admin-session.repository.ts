import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/database.ts';

/** Every statement on idemq.admin_sessions. Sessions are named by a MAC of their id, never the id. */

/** Records a session that lives `ttlSeconds` from now; sessions already expired are deleted with it. */
export async function createAdminSession(db: Kysely<Database>, idHash: Buffer, ttlSeconds: number): Promise<void> {
  await db
    .deleteFrom('idemq.admin_sessions')
    .where('expires_at', '<=', sql<Date>`now()`)
    .execute();
  await db
    .insertInto('idemq.admin_sessions')
    .values({ id_hash: idHash, expires_at: sql<Date>`now() + make_interval(secs => ${ttlSeconds})` })
    .execute();
}

/** Whether the session exists and has not expired, by the database's clock (one for every instance). */
export async function isLiveAdminSession(db: Kysely<Database>, idHash: Buffer): Promise<boolean> {
  const row = await db
    .selectFrom('idemq.admin_sessions')
    .select('id_hash')
    .where('id_hash', '=', idHash)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return row !== undefined;
}

/** Ends a session at once (logout); true when it was live. */
export async function deleteAdminSession(db: Kysely<Database>, idHash: Buffer): Promise<boolean> {
  const row = await db.deleteFrom('idemq.admin_sessions').where('id_hash', '=', idHash).returning('expires_at').executeTakeFirst();
  return row !== undefined && row.expires_at > new Date();
}
