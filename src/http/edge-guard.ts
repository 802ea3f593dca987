import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Authenticator, unauthorized } from './auth.ts';
import type { RateLimits } from './rate-limits.ts';

/**
 * The `onRequest` hooks every route of the API runs before its body is read: authentication and
 * the shared rate limits, in that order, in the same phase.
 */
export function createEdgeGuard(auth: Authenticator, limits: RateLimits) {
  return {
    /**
     * An authenticated route: a valid key counts against its tenant's budget; a missing or wrong
     * one counts against the caller's address (never against the tenant it names), then answers 401.
     */
    authenticated: async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization;
      const tenant = auth.tenantOfHeader(header);
      if (!tenant) {
        await limits.address(request, reply);
        throw unauthorized(header);
      }
      request.tenantId = tenant;
      await limits.tenant(request, reply);
    },
    /** An open route (documents, metrics, readiness): its address's budget; `config: { rateLimit: false }` opts a route out. */
    anonymous: async (request: FastifyRequest, reply: FastifyReply) => {
      if ((request.routeOptions.config as { rateLimit?: unknown }).rateLimit === false) return;
      await limits.address(request, reply);
    },
  };
}

export type EdgeGuard = ReturnType<typeof createEdgeGuard>;
