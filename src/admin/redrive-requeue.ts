import type { FastifyRequest } from 'fastify';
import type { RequestRow } from '../db/database.ts';
import type { QueuedRequest } from '../queue/request-queue.ts';

/**
 * Enqueues a request just re-driven in Postgres; true when its job was added. A failure (Redis
 * away) is logged and answered false: the request is queued in Postgres already, and the
 * reconciler adds its job later.
 */
export function requeueRedriven(
  requeue: (request: QueuedRequest) => Promise<void>,
  request: FastifyRequest,
  row: RequestRow,
): Promise<boolean> {
  return requeue({ id: row.id, operation: row.operation }).then(
    () => true,
    (err: unknown) => {
      request.log.warn({ err, requestId: row.id }, 're-driven request not enqueued; the reconciler will');
      return false;
    },
  );
}
