import { createHash } from 'node:crypto';
import { ProblemError } from './problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** set by authentication on every /v1 route */
    tenantId: string;
  }
}

const hash = (secret: string) => createHash('sha256').update(secret).digest('base64url');

/** The 401 answer: says what to send when nothing was sent, and never which part of a wrong key was wrong. */
export function unauthorized(header: string | undefined): ProblemError {
  return new ProblemError({
    status: 401,
    slug: 'unauthorized',
    title: 'Unauthorized',
    detail: header ? 'The API key is not valid.' : 'Send `Authorization: Bearer <api key>`.',
    headers: { 'www-authenticate': 'Bearer realm="idemq"' },
  });
}

/**
 * Resolves bearer secrets to tenants. Secrets are compared by their SHA-256 digest through a map
 * lookup, so the time taken says nothing about how much of a guess was right.
 */
export function createAuthenticator(apiKeys: ReadonlyMap<string, string>) {
  const tenants = new Map([...apiKeys].map(([secret, tenant]) => [hash(secret), tenant]));
  return {
    /** The tenant of a secret, or undefined. */
    tenantOf(secret: string): string | undefined {
      return tenants.get(hash(secret));
    },
    /** The tenant of an `Authorization: Bearer <secret>` header, or undefined (absent, malformed or unknown). */
    tenantOfHeader(header: string | undefined): string | undefined {
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      return match ? tenants.get(hash(match[1]!)) : undefined;
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
