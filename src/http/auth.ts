import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ProblemError } from './problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** set by authentication on every /v1 route */
    tenantId: string;
  }
}

const hash = (secret: string) => createHash('sha256').update(secret).digest('base64url');

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
    /** Fastify hook: sets request.tenantId from `Authorization: Bearer <secret>` or answers 401. */
    hook: async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      const tenant = match ? tenants.get(hash(match[1]!)) : undefined;
      if (!tenant) {
        throw new ProblemError({
          status: 401,
          slug: 'unauthorized',
          title: 'Unauthorized',
          detail: header ? 'The API key is not valid.' : 'Send `Authorization: Bearer <api key>`.',
          headers: { 'www-authenticate': 'Bearer realm="idemq"' },
        });
      }
      request.tenantId = tenant;
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
