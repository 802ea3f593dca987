import { type Kysely, sql } from 'kysely';

const REQUESTS = sql.table('idemq.requests');

/**
 * A short status history in the request row, `[{ status, at }]`, newest last: what the admin
 * console shows. A new request starts with its `queued` entry; each status change appends one (at
 * most HISTORY_LIMIT are kept). Requests recorded before this migration start with an empty one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table ${REQUESTS} add column history jsonb not null default '[]'`.execute(db);
  await sql`alter table ${REQUESTS} alter column history set default jsonb_build_array(jsonb_build_object('status', 'queued', 'at', now()))`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table ${REQUESTS} drop column history`.execute(db);
}
