import type { FastifyRequest } from 'fastify';
import { type Problem, problem } from '../http/problem.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing admin call (any method but GET, HEAD, OPTIONS) that a browser says
 * comes from another origin: `Sec-Fetch-Site` other than `same-origin`, or an `Origin` other than
 * this server's own (`null` included). A call with neither header (curl, scripts) is no browser's
 * and passes. SameSite=Strict alone lets a sibling page of the same site forge a call; this does not.
 */
export function crossOriginRefusal(request: FastifyRequest): Problem | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined;
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  const own = `${request.protocol}://${request.host}`;
  let why: string | undefined;
  if (site !== undefined && site !== 'same-origin') why = `Sec-Fetch-Site is ${JSON.stringify(site)}`;
  else if (origin !== undefined && origin !== own) why = `Origin ${JSON.stringify(origin)} is not ${own}`;
  if (!why) return undefined;
  return problem('cross-origin-refused', `${why}: the admin plane changes state only for its own pages.`);
}
