/**
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
