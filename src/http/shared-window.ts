import type { RedisClient } from '../redis.ts';
import { LRUCache } from 'lru-cache';

/**
 * Takes `ARGV[1]` calls of the window at once: the key counts every call any instance has taken in
 * the window, and expires with it. Returns that count, with ours, and the window's milliseconds left.
 */
const LEASE_SCRIPT = `
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {n, ttl}
`;

type LeaseCommand = (key: string, size: number, windowMs: number) => Promise<[number, number]>;

export interface WindowTake {
  allowed: boolean;
  /** calls left in the window across all instances, as far as this one knows */
  remaining: number;
  /** milliseconds until the window ends */
  resetMs: number;
}

interface Lease {
  /** calls taken from Redis and not yet spent here */
  left: number;
  /** the window's count in Redis after our last lease */
  counted: number;
  resetAt: number;
}

/**
 * A fixed window of `max` units per key (calls, or bytes), shared by every process on the same
 * Redis and `prefix`. Each process takes units from Redis in leases of `leaseSize` or a call's own
 * cost if larger (one Redis round trip per lease, not per call) and spends them locally, so all processes together admit at most `max` per window and
 * a budget runs out early by at most the unspent part of one lease per process. Once a window is
 * spent, calls are refused here without asking Redis until it ends. `take` rejects when Redis
 * fails; the caller decides what that means.
 */
export function createSharedWindow(
  redis: RedisClient,
  options: { prefix: string; max: number; windowMs: number; leaseSize: number; maxKeys: number; redisAnswers(): boolean },
) {
  const { prefix, max, windowMs, leaseSize } = options;
  if (!('idemqRateLease' in redis)) redis.defineCommand('idemqRateLease', { numberOfKeys: 1, lua: LEASE_SCRIPT });
  const lease = (redis as unknown as { idemqRateLease: LeaseCommand }).idemqRateLease.bind(redis);
  const leases = new LRUCache<string, Lease>({ max: options.maxKeys });
  const inFlight = new Map<string, Promise<void>>();

  const renew = (key: string, size: number): Promise<void> => {
    let pending = inFlight.get(key);
    if (!pending) {
      pending = lease(prefix + key, size, windowMs)
        .then(([counted, ttl]) => {
          const granted = Math.min(size, Math.max(0, max - (counted - size)));
          // what is left of the last lease in the same window stays ours: a cost larger than it is not a loss
          const previous = leases.get(key);
          const carried = previous && counted - size >= previous.counted ? previous.left : 0;
          leases.set(key, { left: carried + granted, counted, resetAt: Date.now() + ttl });
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  };

  return {
    /**
     * Counts `cost` units (one call by default) against `key`: from this process's lease, or after a
     * new one. Without a lease to spend it asks Redis only if `redisAnswers()`; otherwise it returns
     * undefined (not counted). A cost above what is left of the window is refused.
     */
    async take(key: string, cost = 1): Promise<WindowTake | undefined> {
      for (;;) {
        const now = Date.now();
        const current = leases.get(key);
        if (current && now < current.resetAt) {
          const resetMs = current.resetAt - now;
          if (current.left >= cost) {
            current.left -= cost;
            return { allowed: true, remaining: Math.max(0, max - current.counted) + current.left, resetMs };
          }
          if (current.counted >= max) return { allowed: false, remaining: 0, resetMs };
        }
        if (!options.redisAnswers()) return undefined;
        // every lease spends part of the window, so this ends: with a call taken or the window spent
        await renew(key, Math.max(leaseSize, cost));
      }
    },
  };
}
