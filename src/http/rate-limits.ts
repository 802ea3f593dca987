import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { addressKey } from '../net/client-address.ts';
import type { RedisClient } from '../redis.ts';
import { problem, ProblemError } from './problem.ts';
import type { ProblemSlug } from './problem-types.ts';
import { createSharedWindow, type WindowTake } from './shared-window.ts';

const WINDOW_MS = 60_000;
/** after the store failed, requests pass unlimited for this long without asking it again */
const FAIL_OPEN_MS = 1_000;
/** a lease is this share of a budget: an instance asks Redis about 100 times a window at most */
const LEASES_PER_WINDOW = 100;
/** keys with a lease kept in memory; one evicted only gives up its unspent calls */
const MAX_KEYS = 50_000;

/** The budgets: each authenticated tenant's calls, submitted bytes and WebSocket subscribes, and each client address's calls for everything else. */
export type PolicyName = 'tenant' | 'address' | 'bytes' | 'subscribe';

export interface RateLimits {
  /** Counts one call against `request.tenantId`; throws a 429 ProblemError over the budget. */
  tenant(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Counts one call against the client's address (`request.ip`: see TRUSTED_PROXIES); throws a 429 likewise. */
  address(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Counts `bytes` of a body to be stored against `request.tenantId`'s byte budget; throws a 429 ProblemError over it. */
  tenantBytes(request: FastifyRequest, reply: FastifyReply, bytes: number): Promise<void>;
  /** Counts one WebSocket subscribe (a status look-up) against the tenant's subscribe budget; false over it. Never rejects. */
  subscribe(tenantId: string): Promise<boolean>;
}

const REFUSALS: Record<PolicyName, (max: number, resetSeconds: number, addressCounts?: string) => { slug: ProblemSlug; detail: string }> = {
  tenant: (max, s) => ({ slug: 'rate-limited', detail: `This API key may make ${max} requests a minute; retry in ${s} s.` }),
  address: (max, s, counts = 'requests without a valid API key') => ({
    slug: 'rate-limited',
    detail: `This address may make ${max} ${counts} a minute; retry in ${s} s.`,
  }),
  bytes: (max, s) => ({
    slug: 'byte-rate-limited',
    detail: `This API key may submit ${max} bytes of request bodies a minute, and this body does not fit in what is left; retry in ${s} s.`,
  }),
  subscribe: (max, s) => ({ slug: 'rate-limited', detail: `This API key may follow ${max} requests a minute; retry in ${s} s.` }),
};

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
  options: {
    keyPrefix: string;
    perTenant: number;
    perAddress: number;
    bytesPerTenant: number;
    subscribesPerTenant: number;
    /** what the address budget counts, in the 429's words */ addressCounts?: string;
  },
): RateLimits {
  let openUntil = 0;
  let failing = false;

  /** One call (or `cost` units) against `key`'s window; undefined: not counted (the store is away, or was a moment ago). */
  const counter = (name: PolicyName, max: number) => {
    const window = createSharedWindow(redis, {
      prefix: `${options.keyPrefix}:rate-limit:${name}:`,
      max,
      windowMs: WINDOW_MS,
      leaseSize: Math.max(1, Math.floor(max / LEASES_PER_WINDOW)),
      maxKeys: MAX_KEYS,
      redisAnswers: () => Date.now() >= openUntil,
    });
    return async (key: string, cost = 1): Promise<WindowTake | undefined> => {
      try {
        const taken = await window.take(key, cost);
        if (taken) failing = false;
        return taken;
      } catch (err) {
        if (!failing) log.warn({ err }, 'rate limit store unavailable: requests pass unlimited until it answers');
        failing = true;
        openUntil = Date.now() + FAIL_OPEN_MS;
        return undefined;
      }
    };
  };

  const limit = (name: PolicyName, max: number, keyOf: (request: FastifyRequest) => string) => {
    const count = counter(name, max);
    return async (request: FastifyRequest, reply: FastifyReply, cost = 1) => {
      const taken = await count(keyOf(request), cost);
      if (!taken) return;
      const resetSeconds = Math.max(1, Math.ceil(taken.resetMs / 1000));
      // a second policy on the same answer joins the first one's fields (a list, as the draft has them)
      const joined = (field: string, item: string) => {
        const earlier = reply.getHeader(field);
        return typeof earlier === 'string' && earlier !== '' ? `${earlier}, ${item}` : item;
      };
      const headers = {
        'ratelimit-policy': joined('ratelimit-policy', `"${name}";q=${max};w=${WINDOW_MS / 1000}`),
        ratelimit: joined('ratelimit', `"${name}";r=${taken.remaining};t=${resetSeconds}`),
      };
      if (taken.allowed) {
        reply.headers(headers);
        return;
      }
      const { slug, detail } = REFUSALS[name](max, resetSeconds, options.addressCounts);
      throw new ProblemError(problem(slug, detail, { headers: { ...headers, 'retry-after': String(resetSeconds) } }));
    };
  };
  const subscribes = counter('subscribe', options.subscribesPerTenant);
  return {
    tenant: limit('tenant', options.perTenant, (request) => request.tenantId),
    address: limit('address', options.perAddress, (request) => addressKey(request.ip)),
    tenantBytes: limit('bytes', options.bytesPerTenant, (request) => request.tenantId),
    subscribe: async (tenantId) => (await subscribes(tenantId))?.allowed !== false,
  };
}
