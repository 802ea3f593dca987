import type { FastifyRequest } from 'fastify';
import type { ApiKeyScope } from '../db/database.ts';
import { hashSecret } from '../keys/key-secret.ts';
import type { KeyGrant, KeyRing } from '../keys/key-ring.ts';
import { problem, ProblemError } from './problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** set by authentication on every /v1 route */
    tenantId: string;
    /** what the request's key may do, set with tenantId */
    scopes: readonly ApiKeyScope[];
    /** the digest of the request's key (see Authenticator.isLive), set with tenantId */
    keyHash: string;
  }
}

const ALL_SCOPES: readonly ApiKeyScope[] = ['read', 'write'];
/** methods that only read; anything else needs the `write` scope */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The 401 answer: says what to send when nothing was sent, and never which part of a wrong key was wrong. */
export function unauthorized(header: string | undefined): ProblemError {
  return new ProblemError(
    problem('unauthorized', header ? 'The API key is not valid.' : 'Send `Authorization: Bearer <api key>`.', {
      headers: { 'www-authenticate': 'Bearer realm="idemq"' },
    }),
  );
}

/**
 * The 401 that ends a held long-poll or `Prefer: wait` whose key was revoked while it waited: the
 * outcome is not given to a key that may no longer read it.
 */
export function keyRevoked(): ProblemError {
  return new ProblemError(
    problem('unauthorized', 'The API key was revoked while this request was held.', {
      headers: { 'www-authenticate': 'Bearer realm="idemq", error="invalid_token"' },
    }),
  );
}

/**
 * Resolves bearer secrets to what they grant, from memory only: the stored keys (`ring`, kept
 * fresh in the background) and the keys of API_KEYS. A secret is looked up by its SHA-256 digest,
 * so the time taken says nothing about how much of a guess was right. A stored key wins: one that
 * is revoked is refused even if API_KEYS lists the same secret.
 */
export function createAuthenticator(envKeys: ReadonlyMap<string, string>, ring?: KeyRing) {
  const envTenants = new Map([...envKeys].map(([secret, tenant]) => [hashSecret(secret).toString('base64'), tenant]));
  const lookup = (keyHash: string): KeyGrant | undefined => {
    const stored = ring?.find(keyHash);
    if (stored) return stored.revoked ? undefined : { tenantId: stored.tenantId, scopes: stored.scopes, prefix: stored.prefix, keyHash };
    const tenantId = envTenants.get(keyHash);
    return tenantId ? { tenantId, scopes: ALL_SCOPES, keyHash } : undefined;
  };
  /** What a secret grants; counts as a use of a stored key. */
  const grantOf = (secret: string): KeyGrant | undefined => {
    const grant = lookup(hashSecret(secret).toString('base64'));
    if (grant?.prefix) ring!.used(grant.prefix);
    return grant;
  };
  return {
    grantOf,
    /** What an `Authorization: Bearer <secret>` header grants, or undefined (absent, malformed or unknown). */
    grantOfHeader(header: string | undefined): KeyGrant | undefined {
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      return match ? grantOf(match[1]!) : undefined;
    },
    /** Whether the key with this digest (a grant's keyHash) is still valid; not a use. */
    isLive: (keyHash: string): boolean => lookup(keyHash) !== undefined,
    /** Calls `listener` whenever the stored keys were read again; returns its removal. */
    onKeysChanged: (listener: () => void): (() => void) => ring?.onRefresh(listener) ?? (() => undefined),
    /** Sets what the grant allows on the request: its tenant, scopes and key digest. */
    admit(request: FastifyRequest, grant: KeyGrant): void {
      request.tenantId = grant.tenantId;
      request.scopes = grant.scopes;
      request.keyHash = grant.keyHash;
    },
    /** Throws 403 for a method other than GET, HEAD and OPTIONS when the key lacks the `write` scope. */
    assertScope(request: FastifyRequest): void {
      if (READ_METHODS.has(request.method) || request.scopes.includes('write')) return;
      throw new ProblemError(
        problem('insufficient-scope', 'This API key may only read (scope `read`); submitting needs a key with the `write` scope.', {
          headers: { 'www-authenticate': 'Bearer realm="idemq", error="insufficient_scope", scope="write"' },
        }),
      );
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
