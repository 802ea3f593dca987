import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** who made an admin call: `token` (bearer) or `session:<id>`; set by the admin plane's authentication */
    adminWho?: string;
  }
}

/**
 * Logs one admin action as `audit: { action, who, ...fields }`: who did it, what, to which request,
 * with what result. Callers pass ids, keys, statuses and search terms, never a token, a cookie or a
 * request's payload.
 */
export function audit(request: FastifyRequest, action: string, fields: Record<string, unknown> = {}): void {
  request.log.info({ audit: { action, who: request.adminWho ?? 'anonymous', ...fields } }, `admin ${action}`);
}
