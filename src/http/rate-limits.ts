import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { addressKey } from './client-address.ts';
import type { RedisClient } from '../redis.ts';
import { ProblemError } from './problem.ts';
import { createSharedWindow, type WindowTake } from './shared-window.ts';

const WINDOW_MS = 60_000;
/** after the store failed, requests pass unlimited for this long without asking it again */
const FAIL_OPEN_MS = 1_000;
/** a lease is this share of a budget: an instance asks Redis about 100 times a window at most */
const LEASES_PER_WINDOW = 100;
/** keys with a lease kept in memory; one evicted only gives up its unspent calls */
const MAX_KEYS = 50_000;

/** The two budgets: each authenticated tenant's, and each client address's for everything else. */
export type PolicyName = 'tenant' | 'address';

export interface RateLimits {
  /** Counts one call against `request.tenantId`; throws a 429 ProblemError over the budget. */
  tenant(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Counts one call against the client's address (`request.ip`: see TRUSTED_PROXIES); throws a 429 likewise. */
  address(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

/**
 * Fixed one-minute windows counted in Redis (createSharedWindow), so every API instance on the
 * same Redis and QUEUE_PREFIX draws on one budget. Every counted answer carries the IETF
 * `RateLimit-Policy` and `RateLimit` fields; a refusal adds `Retry-After`.
 *
 * Fails open: when Redis does not answer within the connection's command timeout (the `limiter`
 * role), the call passes unlimited, and so does every call for the next second that would need
 * Redis, so an outage costs at most one bounded wait a second; the first failure of an outage is
 * logged. Calls this process can settle alone (a lease to spend, a window known to be spent) are
 * settled as usual.
 */
export function createRateLimits(
  redis: RedisClient,
  log: FastifyBaseLogger,
  options: { keyPrefix: string; perTenant: number; perAddress: number; /** what the address budget counts, in the 429's words */ addressCounts?: string },
): RateLimits {
  let openUntil = 0;
  let failing = false;

  const limit = (name: PolicyName, max: number, keyOf: (request: FastifyRequest) => string) => {
    const window = createSharedWindow(redis, {
      prefix: `${options.keyPrefix}:rate-limit:${name}:`,
      max,
      windowMs: WINDOW_MS,
      leaseSize: Math.max(1, Math.floor(max / LEASES_PER_WINDOW)),
      maxKeys: MAX_KEYS,
      redisAnswers: () => Date.now() >= openUntil,
    });
    return async (request: FastifyRequest, reply: FastifyReply) => {
      let taken: WindowTake | undefined;
      try {
        taken = await window.take(keyOf(request));
      } catch (err) {
        if (!failing) log.warn({ err }, 'rate limit store unavailable: requests pass unlimited until it answers');
        failing = true;
        openUntil = Date.now() + FAIL_OPEN_MS;
        return;
      }
      if (!taken) return;
      failing = false;
      const resetSeconds = Math.max(1, Math.ceil(taken.resetMs / 1000));
      const headers = {
        'ratelimit-policy': `"${name}";q=${max};w=${WINDOW_MS / 1000}`,
        ratelimit: `"${name}";r=${taken.remaining};t=${resetSeconds}`,
      };
      if (taken.allowed) {
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
            : `This address may make ${max} ${options.addressCounts ?? 'requests without a valid API key'} a minute; retry in ${resetSeconds} s.`,
        headers: { ...headers, 'retry-after': String(resetSeconds) },
      });
    };
  };
  return {
    tenant: limit('tenant', options.perTenant, (request) => request.tenantId),
    address: limit('address', options.perAddress, (request) => addressKey(request.ip)),
  };
}
