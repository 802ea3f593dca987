import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import Type from 'typebox';
import type { Config } from '../config.ts';
import type { Database, RequestRow } from '../db/database.ts';
import { notFound, problem, ProblemError } from '../http/problem.ts';
import type { ProblemSlug } from '../http/problem-types.ts';
import { deleteFinishedRequest, failUnfinishedRequest, findRequestById, redriveRequest } from '../idempotency/request-admin.repository.ts';
import { findRequestByKey } from '../idempotency/request.repository.ts';
import type { QueuedRequest } from '../queue/request-queue.ts';
import { audit as auditAction } from './admin-audit.ts';
import { toAdminRequestView } from './admin-request-view.ts';
import { requeueRedriven } from './redrive-requeue.ts';
import { NO_NUL } from './list-filter.ts';
import { followAsEvents } from './request-events.ts';
import type { FollowDeps } from '../status/follow-request.ts';

export interface ConsoleApiDeps extends FollowDeps {
  db: Kysely<Database>;
  http: Config['http'];
  /** removes a finished job of the request, then adds it again; may fail (Redis away) */
  requeue(request: QueuedRequest): Promise<void>;
}

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const KeyQuery = Type.Object({
  tenant: Type.String({ minLength: 1, maxLength: 255, pattern: NO_NUL }),
  key: Type.String({ minLength: 1, maxLength: 255, pattern: NO_NUL }),
});

// something other than blanks, and no NUL
const FailBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500, pattern: '^(?=[\\s\\S]*\\S)[^\\x00]*$' }) },
  { additionalProperties: false },
);

const conflict = (slug: ProblemSlug, detail: string) => new ProblemError(problem(slug, detail));

/** Logs what an operator did, to which request: never the token, never a payload. */
function audit(
  request: FastifyRequest,
  action: string,
  row: (Pick<RequestRow, 'id'> & Partial<Pick<RequestRow, 'tenant_id'>>) | undefined,
  extra: Record<string, unknown> = {},
) {
  auditAction(request, action, { requestId: row?.id, tenantId: row?.tenant_id, ...extra });
}

/**
 * The request console's admin API, under /api: tenant-blind by design (an operator sees every
 * tenant's requests), exact in its lookups. Every action is audited in the log.
 */
export const consoleApiRoutes: FastifyPluginAsyncTypebox<ConsoleApiDeps> = async (app, deps) => {
  /** the request `id` names, or a 404 that is audited as `action` `found: false` with the id searched */
  const found = async (request: FastifyRequest, action: string, id: string) => {
    const row = await findRequestById(deps.db, id);
    if (!row) {
      audit(request, action, { id }, { found: false });
      throw new ProblemError(notFound(`Request ${id}`));
    }
    return row;
  };

  app.get('/api/requests/:id', { schema: { params: IdParams } }, async (request) => {
    const row = await found(request, 'look-up', request.params.id);
    audit(request, 'look-up', row, { found: true });
    return { request: toAdminRequestView(row) };
  });

  app.get('/api/requests', { schema: { querystring: KeyQuery } }, async (request) => {
    const { tenant, key } = request.query;
    const row = await findRequestByKey(deps.db, tenant, key);
    // a miss names what was searched: a look-up that finds nothing is the one worth reading later
    audit(request, 'look-up-by-key', row, { found: row !== undefined, ...(!row && { tenant, key }) });
    if (!row) throw new ProblemError(notFound(`A request of tenant ${JSON.stringify(tenant)} under key ${JSON.stringify(key)}`));
    const { expired: _, ...rest } = row;
    return { request: toAdminRequestView(rest) };
  });

  app.get('/api/requests/:id/events', { schema: { params: IdParams } }, async (request, reply) => {
    const row = await found(request, 'watch', request.params.id);
    audit(request, 'watch', row);
    await followAsEvents(deps, row, request, reply, deps.http);
  });

  app.delete('/api/requests/:id', { schema: { params: IdParams } }, async (request) => {
    const { id } = request.params;
    const deleted = await deleteFinishedRequest(deps.db, id);
    if (!deleted) {
      const row = await found(request, 'delete', id);
      audit(request, 'delete-refused', row, { status: row.status });
      throw conflict('request-unfinished', `Request ${id} is ${row.status}: only a finished request's key can be deleted.`);
    }
    audit(request, 'delete', deleted, { key: deleted.idempotency_key });
    return { deleted: toAdminRequestView(deleted) };
  });

  app.post('/api/requests/:id/redrive', { schema: { params: IdParams } }, async (request) => {
    const { id } = request.params;
    const row = await redriveRequest(deps.db, id);
    if (!row) {
      const current = await found(request, 'redrive', id);
      audit(request, 'redrive-refused', current, { status: current.status });
      throw conflict(
        'not-redrivable',
        `Request ${id} is ${current.status}${current.error ? ` (${current.error.code})` : ''}: only a request that failed with processing_failed is re-driven.`,
      );
    }
    const enqueued = await requeueRedriven(deps.requeue, request, row);
    audit(request, 'redrive', row, { enqueued });
    return { request: toAdminRequestView(row), enqueued };
  });

  app.post('/api/requests/:id/fail', { schema: { params: IdParams, body: FailBody } }, async (request) => {
    const { id } = request.params;
    const reason = request.body.reason.trim();
    const row = await failUnfinishedRequest(deps.db, id, reason);
    if (!row) {
      const current = await found(request, 'fail', id);
      audit(request, 'fail-refused', current, { status: current.status, reason });
      const running = current.status === 'processing';
      throw conflict(
        'request-not-failable',
        running
          ? `Request ${id} is processing and a worker holds its lease: retry once the lease ends (${current.lease_until?.toISOString()}).`
          : `Request ${id} is ${current.status} already.`,
      );
    }
    audit(request, 'fail', row, { reason });
    return { request: toAdminRequestView(row) };
  });
};
