import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestRow } from '../db/database.ts';
import type { Config } from '../config.ts';
import { clientGone } from '../http/request-reply.ts';
import { holdSocketFor } from '../http/server-limits.ts';
import { followRequest, type FollowDeps } from '../status/follow-request.ts';
import { toAdminRequestView } from './admin-request-view.ts';

const KEEPALIVE_MS = 15_000;
const MAX_UNSENT_BYTES = 256 * 1024;

/**
 * Streams a request's states as Server-Sent Events (`event: status`, `id:` the version, `data:` the
 * admin view) through the status feed, from its current state until terminal or the client leaves.
 */
export async function followAsEvents(deps: FollowDeps, row: RequestRow, request: FastifyRequest, reply: FastifyReply, limits: Config['http']): Promise<void> {
  const signal = clientGone(reply);
  // silent between keepalives, which may be longer than the idle timeout
  holdSocketFor(request, KEEPALIVE_MS * 2, limits);
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const keepalive = setInterval(() => raw.write(': keepalive\n\n'), KEEPALIVE_MS);
  const stop = new AbortController();
  try {
    await followRequest(
      deps,
      row.tenant_id,
      row.id,
      (next) => {
        if (raw.writableLength > MAX_UNSENT_BYTES) return stop.abort();
        raw.write(`id: ${next.version}\nevent: status\ndata: ${JSON.stringify(toAdminRequestView(next))}\n\n`);
      },
      { signal: AbortSignal.any([signal, stop.signal]) },
    );
  } catch (err) {
    request.log.warn({ err }, 'admin event stream ended by an error');
  } finally {
    clearInterval(keepalive);
    raw.end();
  }
}
