import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * An `onSend` hook: no admin answer may be shown in another page's frame (clickjacking of the
 * console's buttons, Bull Board's, the login form). Adds `frame-ancestors 'none'` to a page's own
 * Content-Security-Policy, or sets it alone, and `X-Frame-Options: DENY` for older browsers.
 */
export async function noFraming(_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const csp = reply.getHeader('content-security-policy');
  if (typeof csp !== 'string' || csp === '') reply.header('content-security-policy', "frame-ancestors 'none'");
  else if (!/(^|;)\s*frame-ancestors\s/.test(csp)) reply.header('content-security-policy', `${csp}; frame-ancestors 'none'`);
  reply.header('x-frame-options', 'DENY');
  return payload;
}
