import type { TSchema } from 'typebox';
import { PROBLEM_CONTENT_TYPE, ProblemSchema } from './problem.ts';

/**
 * Per-status response objects for route schemas. @fastify/swagger turns `description`, `headers`
 * and `content` into the OpenAPI document; Fastify serializes with the schema under `content`
 * whose media type is the reply's (problem replies are sent as application/problem+json), and
 * ignores the rest.
 */

type HeaderSchema = { type: 'string' | 'integer'; description: string; minimum?: number };
type Headers = Record<string, HeaderSchema>;

const text = (description: string): HeaderSchema => ({ type: 'string', description });
const seconds = (description: string): HeaderSchema => ({ type: 'integer', minimum: 0, description });

/** Response headers, named as they are documented (HTTP header names are case-insensitive). */
export const HEADER = {
  location: { Location: text("The request's status URL, `/v1/requests/{id}`.") },
  pollAfter: { 'Retry-After': seconds('Present while the request is unfinished: seconds to wait before polling again.') },
  replayed: { 'Idempotent-Replayed': text('`true` when this answers a retry of an earlier request with the same key.') },
  preferenceApplied: { 'Preference-Applied': text('Echoes an honoured `Prefer: wait=N`, e.g. `wait=10`.') },
  retryAfter: { 'Retry-After': seconds('Seconds to wait before retrying (with the same Idempotency-Key for a POST).') },
  wwwAuthenticate: { 'WWW-Authenticate': text('`Bearer realm="idemq"`; on a 403 also `error="insufficient_scope", scope="write"`.') },
  rateLimited: {
    'Retry-After': seconds('Seconds until the budget allows another call.'),
    RateLimit: text('IETF RateLimit field: the policy, calls left (`r`) and seconds to the window\'s end (`t`), e.g. `"tenant";r=0;t=41`.'),
    'RateLimit-Policy': text('IETF RateLimit-Policy field: the budget (`q` calls per `w` seconds), e.g. `"tenant";q=6000;w=60`.'),
  },
} satisfies Record<string, Headers>;

/** Every answer carries the request id it was logged under (the client's own `x-request-id` if it sent a plain one: requestIdOf). */
const REQUEST_ID: Headers = {
  'x-request-id': text(
    "The id this request is logged under: the client's own `x-request-id` when it sent one of at most 128 letters, digits, `.`, `_`, `:` and `-`, else a new UUID.",
  ),
};

export function jsonResponse(description: string, schema: TSchema, headers: Headers = {}) {
  return { description, headers: { ...headers, ...REQUEST_ID }, content: { 'application/json': { schema } } };
}

export function problemResponse(description: string, headers: Headers = {}) {
  return { description, headers: { ...headers, ...REQUEST_ID }, content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } } };
}

/** A response without a body (type null: @fastify/swagger then documents no content). */
export function emptyResponse(description: string, headers: Headers = {}) {
  return { description, headers: { ...headers, ...REQUEST_ID }, type: 'null' };
}

export function eventStreamResponse(description: string) {
  return { description, headers: REQUEST_ID, content: { 'text/event-stream': { schema: { type: 'string' } } } };
}

/** The errors every authenticated /v1 route may answer. */
export const V1_PROBLEMS = {
  401: problemResponse('Missing or invalid API key (`…/unauthorized`).', HEADER.wwwAuthenticate),
  429: problemResponse(
    'Too many requests (`…/rate-limited`): for this API key, or for this address when the key is missing or wrong; or, for a held wait or stream, the key holds as many as it may.',
    HEADER.rateLimited,
  ),
  503: problemResponse('A backing service is unavailable (`…/service-unavailable`).', HEADER.retryAfter),
  '4xx': problemResponse('Another client error, with its problem type.'),
  '5xx': problemResponse('An unexpected error (`…/internal-error`); it has been logged.'),
};

export const NOT_FOUND = {
  404: problemResponse("No such resource for this tenant (`…/not-found`); another tenant's id and a malformed id answer the same."),
};
