import { type Kysely, sql } from 'kysely';

/**
 * The core's tables in its own schema, `idemq`. A database laid out by earlier releases (the
 * tables in `public`, with its migrations recorded in `public.kysely_migration`) has them moved,
 * rows, indexes, constraints and all; one that has not run those migrations to the end is refused,
 * naming what to do. `public.kysely_migration` is left as it was, a record of that history.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create schema if not exists idemq`.execute(db);
  if (await legacyTablesExist(db)) {
    await assertLegacyComplete(db);
    await sql`alter table public.requests set schema idemq`.execute(db);
    await sql`alter table public.outbox set schema idemq`.execute(db);
    return;
  }
  await sql`
    create table idemq.requests (
      id uuid primary key default gen_random_uuid(),
      tenant_id text not null,
      idempotency_key text not null,
      fingerprint text not null,
      operation text not null,
      payload jsonb not null,
      status text not null default 'queued' check (status in ('queued', 'processing', 'succeeded', 'failed')),
      result jsonb,
      error jsonb,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      retention_seconds bigint not null constraint requests_retention_positive check (retention_seconds > 0),
      expires_at timestamptz,
      constraint requests_tenant_key_unique unique (tenant_id, idempotency_key)
    )`.execute(db);
  await sql`create index requests_expires_at_idx on idemq.requests (expires_at)`.execute(db);
  // the reconciler's scan: only unfinished requests, oldest first
  await sql`create index requests_unfinished_idx on idemq.requests (updated_at) where status in ('queued', 'processing')`.execute(db);
  await sql`
    create table idemq.outbox (
      id bigserial primary key,
      request_id uuid not null references idemq.requests (id) on delete cascade,
      payload jsonb not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index outbox_request_id_idx on idemq.outbox (request_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table idemq.outbox`.execute(db);
  await sql`drop table idemq.requests`.execute(db);
}

async function legacyTablesExist(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`select to_regclass('public.requests') is not null as found`.execute(db);
  return rows[0]?.found === true;
}

/** The last migration of the earlier layout: its tables are moved only once it has run. */
const LAST_LEGACY_MIGRATION = '2026_12_01_004_retention_from_completion';

async function assertLegacyComplete(db: Kysely<any>): Promise<void> {
  const table = await sql<{ found: boolean }>`select to_regclass('public.kysely_migration') is not null as found`.execute(db);
  const recorded =
    table.rows[0]?.found === true &&
    (await sql<{ name: string }>`select name from public.kysely_migration where name = ${LAST_LEGACY_MIGRATION}`.execute(db)).rows
      .length === 1;
  if (!recorded) {
    throw new Error(
      `public.requests exists but public.kysely_migration does not record ${LAST_LEGACY_MIGRATION}: run the migrations of the release that created it to the end first, then this one.`,
    );
  }
}
