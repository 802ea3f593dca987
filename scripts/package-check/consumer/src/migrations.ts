import { type Kysely, sql } from 'kysely';
import type { MigrationSet } from 'idemq';

export const notesMigrations: MigrationSet = {
  schema: 'notes',
  migrations: {
    '001_notes': {
      async up(db: Kysely<any>) {
        await sql`create schema if not exists notes`.execute(db);
        await sql`
          create table notes.notes (
            id uuid primary key default gen_random_uuid(),
            tenant_id text not null,
            request_id uuid not null unique,
            text text not null,
            created_at timestamptz not null default now()
          )`.execute(db);
      },
      async down(db: Kysely<any>) {
        await sql`drop table notes.notes`.execute(db);
      },
    },
  },
};
