import { type Kysely, sql } from 'kysely';

/**
 * API keys kept in Postgres, created and revoked with `npm run keys`. Only a key's SHA-256 digest is
 * stored: the secrets are 256-bit random strings, so a digest cannot be reversed by guessing, and a
 * fast hash keeps the check cheap. `prefix` is the key's visible, unique name. A revoked key keeps
 * its row (revoked_at set), so it can be listed and its secret is refused for good. `scopes` names
 * what the key may do: `read` (status routes, long-poll, SSE, WebSocket), `write` (submit).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table idemq.api_keys (
      prefix text primary key,
      tenant_id text not null,
      secret_hash bytea not null constraint api_keys_secret_hash_unique unique,
      scopes text[] not null constraint api_keys_scopes_known check (scopes <@ array['read', 'write'] and cardinality(scopes) > 0),
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    )`.execute(db);
  await sql`create index api_keys_tenant_idx on idemq.api_keys (tenant_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table idemq.api_keys`.execute(db);
}
