import { type Kysely, sql } from 'kysely';

/**
 * Indexes for the console's list of requests, newest first, paged on (created_at, id): one for the
 * list without filters, one per equality filter (tenant, operation, status), and one for the error
 * code of failed requests. Each lets the list stop after one page, whatever the table's size.
 * They are built under a lock that holds writes to idemq.requests while they build: on a large
 * table, create them by hand with CREATE INDEX CONCURRENTLY (same names) before migrating.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index if not exists requests_created_idx on idemq.requests (created_at, id)`.execute(db);
  await sql`create index if not exists requests_tenant_created_idx on idemq.requests (tenant_id, created_at, id)`.execute(db);
  await sql`create index if not exists requests_operation_created_idx on idemq.requests (operation, created_at, id)`.execute(db);
  await sql`create index if not exists requests_status_created_idx on idemq.requests (status, created_at, id)`.execute(db);
  await sql`create index if not exists requests_error_code_created_idx on idemq.requests ((error ->> 'code'), created_at, id) where error is not null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const name of [
    'requests_created_idx',
    'requests_tenant_created_idx',
    'requests_operation_created_idx',
    'requests_status_created_idx',
    'requests_error_code_created_idx',
  ]) {
    await sql`drop index if exists ${sql.id('idemq', name)}`.execute(db);
  }
}
