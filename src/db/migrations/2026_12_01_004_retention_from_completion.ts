import { type Kysely, sql } from 'kysely';

/**
 * Retention counts from completion: each request keeps its retention (`retention_seconds`, from
 * IDEMPOTENCY_TTL_SECONDS when it was recorded), and `expires_at` is NULL while it is unfinished,
 * set to completion + retention by the statement that makes it terminal. Existing rows keep the
 * retention they were recorded with; unfinished ones lose their expiry until they finish.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table requests add column retention_seconds bigint`.execute(db);
  await sql`update requests set retention_seconds = greatest(1, ceil(extract(epoch from expires_at - created_at)))`.execute(db);
  await sql`alter table requests alter column retention_seconds set not null`.execute(db);
  await sql`alter table requests add constraint requests_retention_positive check (retention_seconds > 0)`.execute(db);
  await sql`alter table requests alter column expires_at drop not null`.execute(db);
  await sql`update requests set expires_at = null where status in ('queued', 'processing')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`update requests set expires_at = created_at + make_interval(secs => retention_seconds) where expires_at is null`.execute(db);
  await sql`alter table requests alter column expires_at set not null`.execute(db);
  await sql`alter table requests drop column retention_seconds`.execute(db);
}
