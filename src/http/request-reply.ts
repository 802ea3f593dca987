import type { FastifyReply } from 'fastify';
import type { RequestRow } from '../db/database.ts';
import { isTerminal, type RequestView, toRequestView } from '../idempotency/request-view.ts';

/** Seconds a client should wait before polling an unfinished request again. */
export const POLL_AFTER_SECONDS = 1;

export function requestLocation(id: string): string {
  return `/v1/requests/${id}`;
}

/**
 * Answers with a request's state: `pendingCode` while unfinished (with Retry-After), `terminalCode`
 * once terminal. Replays are marked `Idempotent-Replayed: true`; an honoured `Prefer: wait` is echoed.
 */
export function replyWithRequest(
  reply: FastifyReply,
  row: RequestRow,
  opts: { replayed?: boolean; waited?: number; pendingCode: 200 | 202; terminalCode: 200 | 202 },
): RequestView {
  const terminal = isTerminal(row.status);
  reply.header('location', requestLocation(row.id));
  if (opts.replayed) reply.header('idempotent-replayed', 'true');
  if (opts.waited !== undefined) reply.header('preference-applied', `wait=${opts.waited}`);
  if (!terminal) reply.header('retry-after', String(POLL_AFTER_SECONDS));
  reply.code(terminal ? opts.terminalCode : opts.pendingCode);
  return toRequestView(row);
}

declare module 'fastify' {
  interface FastifyInstance {
    /** aborts when the server starts closing: long-polls and streams answer at once */
    closing: AbortSignal;
  }
}

/**
 * An AbortSignal that fires when the client goes away before the answer is sent, or when the
 * server shuts down, so that no wait holds a graceful shutdown up.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return AbortSignal.any([controller.signal, reply.server.closing]);
}
