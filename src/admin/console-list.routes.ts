import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import Type from 'typebox';
import type { Database } from '../db/database.ts';
import { redriveRequest } from '../idempotency/request-admin.repository.ts';
import { listRequests, type RequestListRow } from '../idempotency/request-list.repository.ts';
import type { QueuedRequest } from '../queue/request-queue.ts';
import { audit } from './admin-audit.ts';
import { decodeCursor, encodeCursor } from './list-cursor.ts';
import { checkWindow, ErrorCodeField, ListFilterFields, StatusField } from './list-filter.ts';
import { requeueRedriven } from './redrive-requeue.ts';

export interface ConsoleListDeps {
  db: Kysely<Database>;
  requeue(request: QueuedRequest): Promise<void>;
}

/** The largest page of the list. */
export const LIST_PAGE_MAX = 100;
/** The most requests one bulk re-drive call re-drives. */
export const BULK_REDRIVE_MAX = 100;

const ListQuery = Type.Object({
  ...ListFilterFields,
  status: Type.Optional(StatusField),
  errorCode: Type.Optional(ErrorCodeField),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  limit: Type.Integer({ minimum: 1, maximum: LIST_PAGE_MAX, default: 50 }),
});

const BulkRedriveBody = Type.Object({ ...ListFilterFields, limit: Type.Integer({ minimum: 1, maximum: BULK_REDRIVE_MAX }) });

const toListItem = (row: RequestListRow) => ({
  id: row.id,
  tenantId: row.tenant_id,
  idempotencyKey: row.idempotency_key,
  operation: row.operation,
  status: row.status,
  errorCode: row.error_code,
  attempts: row.attempts,
  createdAt: row.created_at_text,
  updatedAt: row.updated_at.toISOString(),
});

/**
 * The console's list of requests, newest first, of every tenant, and its bulk re-drive. The list
 * pages with an opaque `cursor` (the previous page's `nextCursor`); each call is audited with its
 * filters, and each request a bulk re-drive touches gets an audit line of its own.
 */
export const consoleListRoutes: FastifyPluginAsyncTypebox<ConsoleListDeps> = async (app, deps) => {
  app.get('/api/requests/recent', { schema: { querystring: ListQuery } }, async (request) => {
    const { cursor, limit, ...filter } = request.query;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const { rows, next } = await listRequests(deps.db, checkWindow(filter), after, limit);
    audit(request, 'list', { filter, page: after ? 'next' : 'first', found: rows.length });
    return { requests: rows.map(toListItem), nextCursor: next && encodeCursor(next) };
  });

  /**
   * Re-drives the newest `limit` requests that failed with processing_failed among those the
   * filter selects; each one as POST /api/requests/:id/redrive does. One that changed meanwhile
   * is skipped. `more` tells whether others are left for a next call.
   */
  app.post('/api/requests/redrive', { schema: { body: BulkRedriveBody } }, async (request) => {
    const { limit, ...filter } = request.body;
    const { rows, next } = await listRequests(
      deps.db,
      { ...checkWindow(filter), status: 'failed', errorCode: 'processing_failed' },
      undefined,
      limit,
    );
    const redriven: { id: string; tenantId: string; enqueued: boolean }[] = [];
    for (const candidate of rows) {
      const row = await redriveRequest(deps.db, candidate.id);
      if (!row) {
        audit(request, 'redrive-refused', { requestId: candidate.id, tenantId: candidate.tenant_id, bulk: true, changedMeanwhile: true });
        continue;
      }
      const enqueued = await requeueRedriven(deps.requeue, request, row);
      audit(request, 'redrive', { requestId: row.id, tenantId: row.tenant_id, enqueued, bulk: true });
      redriven.push({ id: row.id, tenantId: row.tenant_id, enqueued });
    }
    audit(request, 'bulk-redrive', { filter, limit, redriven: redriven.length, skipped: rows.length - redriven.length });
    return { redriven, skipped: rows.length - redriven.length, more: next !== null };
  });
};
