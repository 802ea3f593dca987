/**
 * The retry policy, in one place: which failures are worth retrying (classification), how long to
 * wait before the next attempt (one backoff formula with jitter), and how an upstream's or the
 * service's `Retry-After` is read (one rule; the client package follows it too).
 *
 * Which failures are the infrastructure's, not the request's: the API answers them with 503 and
 * Retry-After, and workers retry them without limit instead of failing the request.
 * Kept as data (graphile-worker keeps the same kind of table), so it is read in one place.
 */
export const TRANSIENT_SQLSTATES: Readonly<Record<string, string>> = {
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  '55P03': 'lock_not_available',
  '53300': 'too_many_connections',
  '57P01': 'admin_shutdown',
  '57P02': 'crash_shutdown',
  '57P03': 'cannot_connect_now',
  '58000': 'system_error',
  '08000': 'connection_exception',
  '08001': 'sqlclient_unable_to_establish_sqlconnection',
  '08003': 'connection_does_not_exist',
  '08004': 'sqlserver_rejected_establishment_of_sqlconnection',
  '08006': 'connection_failure',
  // PgBouncer's code for its own failures: its server connection died (server conn crashed?), none
  // came in time (query_wait_timeout), or it cannot reach Postgres
  '08P01': 'protocol_violation (PgBouncer: server connection lost or unavailable)',
  '3D000': 'invalid_catalog_name (database being recreated)',
};

/** Socket-level error codes of Node, pg and ioredis. */
export const TRANSIENT_NODE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Messages of errors that pg and ioredis raise without a code. */
const TRANSIENT_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /Connection is closed/i,
  /Reached the max retries per request limit/i,
  /Stream isn't writeable/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /enqueue timed out/i,
];

/** True when the error, or anything in its cause chain or an AggregateError's list, is transient. */
export function isTransientError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (e.code in TRANSIENT_SQLSTATES || TRANSIENT_NODE_CODES.has(e.code))) return true;
  if (typeof e.message === 'string' && TRANSIENT_MESSAGES.some((re) => re.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isTransientError(inner, depth + 1))) return true;
  return isTransientError(e.cause, depth + 1);
}

/** 4xx answers that mean "not now" rather than "no": retried like 5xx (RFC 9110, RFC 8470, RFC 6585). */
export const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 425, 429]);

/** Whether an HTTP answer is worth the same request again: 5xx and the three "not now" 4xx; 3xx and other 4xx are answers the upstream chose. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || RETRYABLE_4XX.has(status);
}

/** The terms of an exponential backoff: the first delay's ceiling, doubling per retry up to `maxMs`. */
export interface BackoffTerms {
  baseMs: number;
  maxMs: number;
}

/**
 * The delay before retry number `retry` (1 for the first): a ceiling of `baseMs` doubling per
 * retry, capped by `maxMs`, with "equal jitter" (half fixed, half drawn from `random`), so retries
 * of many requests spread out but never come back sooner than half the ceiling.
 */
export function backoffMs(terms: BackoffTerms, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(terms.maxMs, terms.baseMs * 2 ** Math.min(Math.max(retry - 1, 0), 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A job's retries after a failed attempt: 400 ms doubling to 30 s, jittered (backoffMs). */
export const JOB_BACKOFF: BackoffTerms = { baseMs: 400, maxMs: 30_000 };

/** The delay BullMQ waits before a job's next attempt, `attemptsMade` attempts having failed (JOB_BACKOFF). */
export function retryDelayMs(attemptsMade: number, random: () => number = Math.random): number {
  return backoffMs(JOB_BACKOFF, attemptsMade, random);
}

/**
 * A Retry-After value (RFC 9110 §10.2.3) as milliseconds from `now`: delay-seconds (digits only,
 * however large: the caller caps the wait) or an HTTP-date naming its weekday and GMT (IMF-fixdate
 * or the obsolete RFC 850 form), a past date meaning 0. Undefined when absent, negative, fractional
 * or otherwise unreadable: Date.parse alone would take "1", "2026" or "-1" for dates. The client
 * package (clients/typescript/src/retry-policy.ts) applies the same rule; one table of cases tests both.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text), Number.MAX_SAFE_INTEGER / 1000) * 1000;
  if (!/^[A-Za-z]{3},? .*GMT$/.test(text) && !/^[A-Za-z]+, \d\d-[A-Za-z]{3}-\d\d .*GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
