import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { type Problem, problem } from '../http/problem.ts';
import { createAdminSession, deleteAdminSession, isLiveAdminSession } from './admin-session.repository.ts';

export const SESSION_COOKIE = 'idemq_admin';
const SESSION_ID_BYTES = 32;

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
 * the login form sets. A session is a random 256-bit id, new at every login; Postgres keeps only its
 * MAC keyed with the token (so changing ADMIN_TOKEN ends every session) with its expiry, so a
 * session is checked, expired and revoked (logout) the same way on every API instance. An
 * operator is named in the audit log by `who`: `token`, or `session:` and the MAC's first 12 hex
 * digits, which name a session without opening it.
 */
export function createAdminAuth(db: Kysely<Database>, options: Pick<Config['admin'], 'token' | 'sessionTtlSeconds' | 'cookieSecure'>) {
  const { token } = options;
  const macOf = (id: string) => createHmac('sha256', token).update(id).digest();
  const whoOf = (mac: Buffer) => `session:${mac.toString('hex').slice(0, 12)}`;
  const secure = (request: FastifyRequest) =>
    options.cookieSecure === 'true' || (options.cookieSecure === 'auto' && request.protocol === 'https');
  const attributes = (request: FastifyRequest) => `Path=/; HttpOnly; SameSite=Strict${secure(request) ? '; Secure' : ''}`;
  const sessionMac = (request: FastifyRequest) => {
    const id = cookie(request.headers.cookie, SESSION_COOKIE);
    return id ? macOf(id) : undefined;
  };
  return {
    /** True when the token is right (the login form's check). */
    isToken: (candidate: string) => same(candidate, token),
    /** The bearer header's verdict: `token` when right, `wrong` when wrong, undefined without one. */
    bearer(request: FastifyRequest): 'token' | 'wrong' | undefined {
      const value = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
      if (value === undefined) return request.headers.authorization === undefined ? undefined : 'wrong';
      return same(value, token) ? 'token' : 'wrong';
    },
    /** The live session the request's cookie names (`who`), or undefined; rejects when Postgres fails. */
    async session(request: FastifyRequest): Promise<string | undefined> {
      const mac = sessionMac(request);
      return mac && (await isLiveAdminSession(db, mac)) ? whoOf(mac) : undefined;
    },
    /** Records a new session and sets its cookie: HttpOnly (no script reads it), SameSite=Strict. Returns its `who`. */
    async startSession(request: FastifyRequest, reply: FastifyReply): Promise<string> {
      const id = randomBytes(SESSION_ID_BYTES).toString('base64url');
      const mac = macOf(id);
      await createAdminSession(db, mac, options.sessionTtlSeconds);
      reply.header('set-cookie', `${SESSION_COOKIE}=${id}; ${attributes(request)}; Max-Age=${options.sessionTtlSeconds}`);
      return whoOf(mac);
    },
    /** Deletes the request's session, if any, and clears its cookie. Returns its `who`, if it was live. */
    async endSession(request: FastifyRequest, reply: FastifyReply): Promise<string | undefined> {
      const mac = sessionMac(request);
      const ended = mac !== undefined && (await deleteAdminSession(db, mac));
      reply.header('set-cookie', `${SESSION_COOKIE}=; ${attributes(request)}; Max-Age=0`);
      return ended ? whoOf(mac) : undefined;
    },
  };
}

export type AdminAuth = ReturnType<typeof createAdminAuth>;

export const adminUnauthorized = (request: FastifyRequest): Problem =>
  problem(
    'unauthorized',
    request.headers.authorization ? 'The admin token is not valid.' : 'Send `Authorization: Bearer <admin token>`, or log in at /login.',
    {
      headers: { 'www-authenticate': 'Bearer realm="idemq-admin"' },
    },
  );
