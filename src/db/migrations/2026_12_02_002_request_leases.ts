import { type Kysely, sql } from 'kysely';

const REQUESTS = sql.table('idemq.requests');

/**
 * Attempts and leases of requests whose work happens outside Postgres (forward routes): `attempts`
 * counts the attempts started, and is the fencing token of the latest; `lease_until` is when the
 * latest attempt's lease ends, or when the next attempt may start after a retryable answer. Null:
 * no attempt yet. Other requests never set them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table ${REQUESTS} add column attempts integer not null default 0`.execute(db);
  await sql`alter table ${REQUESTS} add column lease_until timestamptz`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table ${REQUESTS} drop column lease_until`.execute(db);
  await sql`alter table ${REQUESTS} drop column attempts`.execute(db);
}
