import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create schema if not exists orders`.execute(db);
  await sql`
    create table orders.orders (
      id uuid primary key default gen_random_uuid(),
      tenant_id text not null,
      request_id uuid not null unique,
      sku text not null,
      quantity integer not null check (quantity > 0),
      created_at timestamptz not null default now()
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table orders.orders`.execute(db);
}
