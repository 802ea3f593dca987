import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { ProblemError } from './problem.ts';

const WINDOW_MS = 60_000;
/** after the store failed, requests pass unlimited for this long without asking it again */
const FAIL_OPEN_MS = 1_000;

/** The two budgets: each authenticated tenant's, and each client address's for everything else. */
export type PolicyName = 'tenant' | 'address';

export interface RateLimits {
  /** Counts one call against `request.tenantId`; throws a 429 ProblemError over the budget. */
  tenant(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Counts one call against the client's address (`request.ip`: see TRUSTED_PROXIES); throws a 429 likewise. */
  address(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

type Check = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * Fixed one-minute windows counted in Redis (@fastify/rate-limit's Redis store), so every API
 * instance on the same Redis and QUEUE_PREFIX draws on one budget. Every counted answer carries
 * the IETF `RateLimit-Policy` and `RateLimit` fields; a refusal adds `Retry-After`.
 *
 * Fails open: when Redis does not answer within the connection's command timeout (the `limiter`
 * role), the call passes unlimited, and so does every call for the next second, so an outage costs
 * at most one bounded wait per second; the failure is logged once per episode.
 */
export async function createRateLimits(
  app: FastifyInstance,
  redis: Redis,
  options: { keyPrefix: string; perTenant: number; perAddress: number },
): Promise<RateLimits> {
  const tenant = await sharedWindow(app, redis, `${options.keyPrefix}:rate-limit:tenant:`, options.perTenant, (request) => request.tenantId);
  const address = await sharedWindow(app, redis, `${options.keyPrefix}:rate-limit:address:`, options.perAddress);
  let openUntil = 0;

  const limit = (name: PolicyName, check: Check, max: number) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (Date.now() < openUntil) return;
    let outcome: Awaited<ReturnType<Check>>;
    try {
      outcome = await check(request);
    } catch (err) {
      if (Date.now() >= openUntil) app.log.warn({ err }, 'rate limit store unavailable: requests pass unlimited until it answers');
      openUntil = Date.now() + FAIL_OPEN_MS;
      return;
    }
    if (outcome.isAllowed) return;
    const resetSeconds = Math.max(1, outcome.ttlInSeconds);
    const headers = {
      'ratelimit-policy': `"${name}";q=${max};w=${WINDOW_MS / 1000}`,
      ratelimit: `"${name}";r=${outcome.remaining};t=${resetSeconds}`,
    };
    if (!outcome.isExceeded) {
      reply.headers(headers);
      return;
    }
    throw new ProblemError({
      status: 429,
      slug: 'rate-limited',
      title: 'Too many requests',
      detail:
        name === 'tenant'
          ? `This API key may make ${max} requests a minute; retry in ${resetSeconds} s.`
          : `This address may make ${max} requests a minute without a valid API key; retry in ${resetSeconds} s.`,
      headers: { ...headers, 'retry-after': String(resetSeconds) },
    });
  };
  return { tenant: limit('tenant', tenant, options.perTenant), address: limit('address', address, options.perAddress) };
}

/** The plugin in a scope of its own, so each budget has its own counter prefix, size and key. */
async function sharedWindow(app: FastifyInstance, redis: Redis, nameSpace: string, max: number, keyGenerator?: (request: FastifyRequest) => string): Promise<Check> {
  let check: Check | undefined;
  await app.register(async (scope) => {
    await scope.register(rateLimit, {
      global: false,
      redis,
      nameSpace,
      max,
      timeWindow: WINDOW_MS,
      // the default key is the client address, IPv6 grouped by /64 (one host's whole range)
      ...(keyGenerator ? { keyGenerator } : {}),
      skipOnError: false,
    });
    check = scope.createRateLimit();
  });
  return check!;
}
