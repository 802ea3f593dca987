import { createHash } from 'node:crypto';

/**
 * The Idempotency-Key idemq sends upstream for a client's key: a hash of the tenant and the key,
 * so two tenants using the same key never meet upstream, and the key is the same on every attempt
 * (and in every worker) for as long as idemq keeps the request. The tenant and key are encoded
 * unambiguously before hashing (JSON of the pair), so no choice of key can name another tenant's.
 */
export function upstreamKeyFor(tenantId: string, clientKey: string): string {
  return `idemq-${createHash('sha256')
    .update(JSON.stringify([tenantId, clientKey]))
    .digest('base64url')}`;
}
