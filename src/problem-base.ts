/**
 * What every problem answer (RFC 9457) shares, whatever server sends it: the API and the admin
 * server through Fastify (src/http/problem.ts), a worker's metrics server through plain Node.
 */

/** Base of every problem `type`; the slug after it is stable and documented in docs/api.md. */
export const PROBLEM_BASE = 'https://idemq.dev/problems/';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
