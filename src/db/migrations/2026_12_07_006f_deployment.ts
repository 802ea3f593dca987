import { type Kysely, sql } from 'kysely';

/**
 * The deployment's identity: one row, a random uuid made when the core's schema is first migrated.
 * It ties the deployment's queues in Redis to this database (queue-owner.ts): a second deployment
 * on the same Redis and QUEUE_PREFIX has another identity and is refused. A dump restored
 * elsewhere keeps it, so a restored deployment still owns its queues.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table idemq.deployment (
      one boolean primary key default true constraint deployment_one_row check (one),
      id uuid not null default gen_random_uuid(),
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`insert into idemq.deployment default values`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table idemq.deployment`.execute(db);
}
