import type { FastifyReply, FastifyRequest } from 'fastify';
import { notFound, ProblemError } from './problem.ts';
import type { RateLimits } from './rate-limits.ts';

/**
 * An `onRequest` hook for a server's root scope: a request no route matches counts against its
 * address's budget (429 over it) and is answered 404 there, before its body is read, so no body of
 * an unknown route is ever parsed. One that announces a body gets `Connection: close` too: the
 * server then drops the socket instead of reading the body to the end to keep it alive.
 */
export function refuseUnknownRoutes(limits: RateLimits) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.is404) return;
    const length = request.headers['content-length'];
    if ((length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined) reply.header('connection', 'close');
    await limits.address(request, reply);
    throw new ProblemError(notFound(`Route ${request.method} ${request.url.split('?')[0]}`));
  };
}
