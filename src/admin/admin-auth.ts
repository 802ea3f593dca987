import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Problem } from '../http/problem.ts';

export const SESSION_COOKIE = 'idemq_admin';
/** a browser session lasts this long; then the login form again */
const SESSION_MAX_AGE_S = 8 * 3600;

const digest = (value: string) => createHash('sha256').update(value).digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/** The value of a cookie in a Cookie header, or undefined. */
function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/**
 * The admin plane's authentication: `Authorization: Bearer <ADMIN_TOKEN>`, or the session cookie
 * the login form sets. The cookie holds a MAC of the token, never the token, so changing
 * ADMIN_TOKEN ends every session; comparisons go through digests of equal length (timingSafeEqual).
 */
export function createAdminAuth(token: string) {
  const session = createHmac('sha256', token).update('idemq admin session').digest('base64url');
  return {
    /** True when the token is right (the login form's check). */
    isToken: (candidate: string) => same(candidate, token),
    /** Whether the request carries the token or a live session. */
    allows(request: FastifyRequest): boolean {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
      if (bearer !== undefined) return same(bearer, token);
      const value = cookie(request.headers.cookie, SESSION_COOKIE);
      return value !== undefined && same(value, session);
    },
    /** Sets the session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it). */
    startSession(reply: FastifyReply): void {
      reply.header('set-cookie', `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}`);
    },
    endSession(reply: FastifyReply): void {
      reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    },
  };
}

export type AdminAuth = ReturnType<typeof createAdminAuth>;

export const adminUnauthorized = (request: FastifyRequest): Problem => ({
    status: 401,
    slug: 'unauthorized',
    title: 'Unauthorized',
    detail: request.headers.authorization ? 'The admin token is not valid.' : 'Send `Authorization: Bearer <admin token>`, or log in at /login.',
    headers: { 'www-authenticate': 'Bearer realm="idemq-admin"' },
});
