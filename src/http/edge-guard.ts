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
     * An authenticated route: a valid key counts against its tenant's budget, then a key without
     * the `write` scope is refused anything but a read (403); a missing or wrong one counts against
     * the caller's address (never against the tenant it names), then answers 401.
     */
    authenticated: async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization;
      const grant = auth.grantOfHeader(header);
      if (!grant) {
        await limits.address(request, reply);
        throw unauthorized(header);
      }
      auth.admit(request, grant);
      await limits.tenant(request, reply);
      // after the budget: a flood of writes with a read-only key is limited like any other
      auth.assertScope(request);
    },
    /** An open route (liveness, readiness): its address's budget. */
    anonymous: async (request: FastifyRequest, reply: FastifyReply) => {
      await limits.address(request, reply);
    },
  };
}

export type EdgeGuard = ReturnType<typeof createEdgeGuard>;
