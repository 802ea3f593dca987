/** How a call retries; every call of a client shares it, and each call may narrow it. */
export interface RetryPolicy {
  /** attempts in all, the first included */
  maxAttempts: number;
  /** no retry starts after this long since the first attempt; a Retry-After past it ends the call at once */
  maxElapsedMs: number;
  /** an attempt that has no whole answer (headers and body) after this long is abandoned and retried */
  attemptTimeoutMs: number;
  /** the cap of the first backoff; it doubles per retry up to `maxDelayMs` ("full jitter": a uniform draw below the cap) */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 8,
  maxElapsedMs: 60_000,
  attemptTimeoutMs: 30_000,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
});

/**
 * Statuses worth the same request again: the request timed out or came too early (408, 425), the
 * tenant is rate limited (429), or the service failed or is away (5xx, 503 while Postgres is).
 * With the same Idempotency-Key a retry cannot do the work twice.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base·2^(retry−1))). `retry` counts from 1. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * cap);
}

/**
 * `Retry-After` in milliseconds from `now` (RFC 9110 §10.2.3): delay-seconds (digits only, however
 * large) or an HTTP-date naming its weekday and GMT (IMF-fixdate or the obsolete RFC 850 form), a
 * past date meaning 0. Undefined when absent, negative, fractional or otherwise unreadable: Date.parse
 * alone would take "1", "2026" or "-1" for dates. The service reads the header by the same rule.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text), Number.MAX_SAFE_INTEGER / 1000) * 1000;
  if (!/^[A-Za-z]{3},? .*GMT$/.test(text) && !/^[A-Za-z]+, \d\d-[A-Za-z]{3}-\d\d .*GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before the next attempt: the backoff, but never before the service's Retry-After. */
export function retryDelay(retry: number, policy: RetryPolicy, retryAfterMs: number | undefined, random?: () => number): number {
  return Math.max(backoffDelay(retry, policy, random), retryAfterMs ?? 0);
}
