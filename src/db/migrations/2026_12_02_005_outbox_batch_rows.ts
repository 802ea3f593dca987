import { type Kysely, sql } from 'kysely';

const OUTBOX = sql.table('idemq.outbox');

/**
 * An outbox row may carry the events of a whole batch: `payload` is then an array of events and
 * `request_id` is null (no single request owns the row). Rows of one request keep their
 * `request_id`, and go with their request when it is deleted. Dropping NOT NULL only changes the
 * catalogue (no rewrite, no scan), so it is safe on a live table.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table ${OUTBOX} alter column request_id drop not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from ${OUTBOX} where request_id is null`.execute(db);
  await sql`alter table ${OUTBOX} alter column request_id set not null`.execute(db);
}
