import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { clientGone } from './request-reply.ts';
import { holdSocketFor } from './server-limits.ts';

/** a comment line this often keeps proxies and clients from timing the stream out */
export const SSE_KEEPALIVE_MS = 15_000;
/** unsent bytes above this end the stream; the client reconnects with Last-Event-ID */
export const SSE_MAX_UNSENT_BYTES = 256 * 1024;

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  // nginx would otherwise buffer the stream until it closes
  'x-accel-buffering': 'no',
} as const;

/** One open Server-Sent Events stream, as `streamEvents` hands it to its writer. */
export interface EventStream {
  /** Writes one event (`id:`, `event:`, `data:` the JSON of `data`); a client that reads too slowly ends the stream instead. */
  send(id: number, event: string, data: unknown): void;
  /** aborted when the client leaves, the server closes, or the client reads too slowly */
  signal: AbortSignal;
}

export interface EventStreamOptions {
  /** the socket limits: the stream holds its socket past the idle timeout */
  limits: Config['http'];
  /** sent with the stream's own headers */
  headers?: Record<string, string>;
  /** logged (warn, with the error) when `write` rejects */
  endedByError: string;
}

/**
 * Answers `request` with a Server-Sent Events stream (200, `text/event-stream`, never buffered):
 * hijacks the reply, sends a keep-alive comment every SSE_KEEPALIVE_MS, and runs `write` until it
 * settles; then the stream ends. A rejection of `write` is logged, never thrown: the answer has
 * begun. `write` stops when `stream.signal` aborts (client gone, server closing, client too slow).
 */
export async function streamEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  options: EventStreamOptions,
  write: (stream: EventStream) => Promise<unknown>,
): Promise<void> {
  const gone = clientGone(reply);
  // the stream is silent between keepalives, which may be longer than the idle timeout
  holdSocketFor(request, SSE_KEEPALIVE_MS * 2, options.limits);
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { ...SSE_HEADERS, ...options.headers });
  const keepalive = setInterval(() => raw.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
  const stop = new AbortController();
  const stream: EventStream = {
    signal: AbortSignal.any([gone, stop.signal]),
    send(id, event, data) {
      if (raw.writableLength > SSE_MAX_UNSENT_BYTES) return stop.abort();
      raw.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
  };
  try {
    await write(stream);
  } catch (err) {
    request.log.warn({ err }, options.endedByError);
  } finally {
    clearInterval(keepalive);
    raw.end();
  }
}

/** The version a reconnecting client last received (`Last-Event-ID`), or 0 when absent or not a positive integer. */
export function lastEventVersion(header: string | undefined): number {
  const since = Number(header);
  return Number.isInteger(since) && since > 0 ? since : 0;
}
