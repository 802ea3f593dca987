/**
 * Every problem `type` idemq answers with, by slug (the part after PROBLEM_BASE): its title and
 * status. The slugs are stable and listed in docs/api.md (a test compares the two); a problem is
 * built from this table (`problem` in problem.ts), so a slug not in it does not compile.
 */
export const PROBLEM_TYPES = {
  // the Idempotency-Key, before the body is read
  'idempotency-key-missing': { status: 400, title: 'Idempotency-Key header missing' },
  'idempotency-key-invalid': { status: 400, title: 'Idempotency-Key header invalid' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key reused with a different request' },
  // the body
  'invalid-request': { status: 400, title: 'Request does not match the schema' },
  'invalid-json-text': { status: 400, title: 'JSON text that cannot be stored' },
  'body-too-deep': { status: 400, title: 'JSON body nested too deeply' },
  'body-too-complex': { status: 400, title: 'JSON body holds too many values' },
  'not-i-json': { status: 400, title: 'JSON body is not I-JSON' },
  'malformed-json': { status: 400, title: 'Malformed JSON body' },
  'malformed-body': { status: 400, title: 'Malformed request body' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'body-too-large': { status: 413, title: 'Request body too large' },
  'unstorable-body': { status: 400, title: 'Request body cannot be stored' },
  // any other 4xx Fastify reports, with its own status
  'bad-request': { status: 400, title: 'Bad request' },
  // who calls, and how often
  unauthorized: { status: 401, title: 'Unauthorized' },
  'insufficient-scope': { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'byte-rate-limited': { status: 429, title: 'Too many bytes submitted' },
  // the service
  'service-unavailable': { status: 503, title: 'Service temporarily unavailable' },
  'internal-error': { status: 500, title: 'Internal error' },
  // the admin port
  'cross-origin-refused': { status: 403, title: 'Cross-origin call refused' },
  'request-unfinished': { status: 409, title: 'Request unfinished' },
  'not-redrivable': { status: 409, title: 'Request cannot be re-driven' },
  'request-not-failable': { status: 409, title: 'Request cannot be failed' },
} as const satisfies Record<string, { status: number; title: string }>;

/** A problem type's slug: one of PROBLEM_TYPES. */
export type ProblemSlug = keyof typeof PROBLEM_TYPES;
