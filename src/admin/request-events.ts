import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestRow } from '../db/database.ts';
import type { Config } from '../config.ts';
import { streamEvents } from '../http/sse-stream.ts';
import { followRequest, type FollowDeps } from '../status/follow-request.ts';
import { toAdminRequestView } from './admin-request-view.ts';

/**
 * Streams a request's states as Server-Sent Events (`event: status`, `id:` the version, `data:` the
 * admin view) through the status feed, from its current state until terminal or the client leaves.
 */
export async function followAsEvents(
  deps: FollowDeps,
  row: RequestRow,
  request: FastifyRequest,
  reply: FastifyReply,
  limits: Config['http'],
): Promise<void> {
  await streamEvents(request, reply, { limits, endedByError: 'admin event stream ended by an error' }, (stream) =>
    followRequest(deps, row.tenant_id, row.id, (next) => stream.send(next.version, 'status', toAdminRequestView(next)), {
      signal: stream.signal,
    }),
  );
}
