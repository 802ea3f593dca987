import { type Kysely, sql } from 'kysely';
import type { ApiKeyRow, ApiKeyScope, Database } from '../db/database.ts';
import { generateSecret, hashSecret } from './key-secret.ts';

/** A key as lists show it: never its secret, never its digest. */
export type ApiKeyInfo = Omit<ApiKeyRow, 'secret_hash'>;

/** What an API instance holds in memory for each key it accepts (or must refuse, see loadKeys). */
export interface LoadedKey {
  prefix: string;
  tenantId: string;
  secretHash: Buffer;
  scopes: readonly ApiKeyScope[];
  revoked: boolean;
}

/** 23505 on the primary key: a fresh prefix collided with an existing one (one in 36^12). */
const UNIQUE_VIOLATION = '23505';

/**
 * Creates a key for `tenantId` and returns its secret: the only time it exists outside the caller's
 * hands, since only its digest is stored. A colliding prefix is drawn again.
 */
export async function createApiKey(
  db: Kysely<Database>,
  tenantId: string,
  scopes: readonly ApiKeyScope[],
): Promise<{ secret: string; key: ApiKeyInfo }> {
  for (let attempt = 0; ; attempt++) {
    const { prefix, secret } = generateSecret();
    try {
      const key = await db
        .insertInto('idemq.api_keys')
        .values({ prefix, tenant_id: tenantId, secret_hash: hashSecret(secret), scopes: [...scopes] })
        .returning(['prefix', 'tenant_id', 'scopes', 'created_at', 'last_used_at', 'revoked_at'])
        .executeTakeFirstOrThrow();
      return { secret, key };
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION || attempt >= 3) throw err;
    }
  }
}

/** Keys, oldest first; one tenant's with `tenantId`. Revoked keys are listed too. */
export async function listApiKeys(db: Kysely<Database>, tenantId?: string): Promise<ApiKeyInfo[]> {
  let query = db
    .selectFrom('idemq.api_keys')
    .select(['prefix', 'tenant_id', 'scopes', 'created_at', 'last_used_at', 'revoked_at'])
    .orderBy('created_at')
    .orderBy('prefix');
  if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
  return query.execute();
}

/** True when at least one stored key is live (not revoked). */
export async function hasLiveKey(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('idemq.api_keys').select('prefix').where('revoked_at', 'is', null).limit(1).executeTakeFirst();
  return row !== undefined;
}

/**
 * Revokes a key by prefix. Returns the key as it now is (its first revocation time kept when it
 * was revoked already), or undefined when no key has that prefix.
 */
export async function revokeApiKey(db: Kysely<Database>, prefix: string): Promise<ApiKeyInfo | undefined> {
  return db
    .updateTable('idemq.api_keys')
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
    .where('prefix', '=', prefix)
    .returning(['prefix', 'tenant_id', 'scopes', 'created_at', 'last_used_at', 'revoked_at'])
    .executeTakeFirst();
}

/**
 * Every live key, and the revoked ones among `alsoHashes` (the digests of API_KEYS' secrets, so a
 * revocation holds even for a secret that was copied into API_KEYS). One statement.
 */
export async function loadKeys(db: Kysely<Database>, alsoHashes: readonly Buffer[]): Promise<LoadedKey[]> {
  let query = db.selectFrom('idemq.api_keys').select(['prefix', 'tenant_id', 'secret_hash', 'scopes', 'revoked_at']);
  query = alsoHashes.length
    ? query.where((eb) => eb.or([eb('revoked_at', 'is', null), eb('secret_hash', '=', sql<Buffer>`any(${[...alsoHashes]}::bytea[])`)]))
    : query.where('revoked_at', 'is', null);
  const rows = await query.execute();
  return rows.map((r) => ({
    prefix: r.prefix,
    tenantId: r.tenant_id,
    secretHash: r.secret_hash,
    scopes: r.scopes,
    revoked: r.revoked_at !== null,
  }));
}

/**
 * Records when keys were last used, in one statement: `uses` maps prefixes to times. A time never
 * moves an already later one back (instances flush independently).
 */
export async function recordKeyUses(db: Kysely<Database>, uses: ReadonlyMap<string, Date>): Promise<void> {
  if (uses.size === 0) return;
  const prefixes = [...uses.keys()];
  const times = prefixes.map((p) => uses.get(p)!.toISOString());
  await sql`
    update idemq.api_keys k set last_used_at = greatest(k.last_used_at, u.used_at)
    from unnest(${prefixes}::text[], ${times}::timestamptz[]) as u(prefix, used_at)
    where k.prefix = u.prefix`.execute(db);
}
