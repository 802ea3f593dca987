import { type Kysely, sql } from 'kysely';

/**
 * The admin plane's login sessions. Only a MAC of a session's random id is stored, keyed with
 * ADMIN_TOKEN: a stolen table opens nothing, and a new token ends every session. A session lives
 * until `expires_at` (ADMIN_SESSION_TTL_SECONDS after its login) or its logout, whichever is first,
 * on every API instance sharing the database.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table idemq.admin_sessions (
      id_hash bytea primary key,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null
    )`.execute(db);
  await sql`create index admin_sessions_expires_idx on idemq.admin_sessions (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table idemq.admin_sessions`.execute(db);
}
