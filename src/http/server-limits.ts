import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';

type Limits = Config['http'];

/**
 * Fastify and Node http options that bound what one client can hold: a request must arrive whole
 * within its deadlines, a silent socket is closed, and sockets beyond the cap are closed on arrival.
 * `maxConnections` is applied by `capConnections` once the server exists.
 */
export function serverLimitOptions(limits: Limits): FastifyHttpOptions<Server> {
  return {
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node enforces both deadlines only on this sweep (30 s by default), so a short deadline needs
      // a sweep a few times as frequent for the cut to come near it.
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
  };
}

export function capConnections(server: { maxConnections: number }, limits: Limits): void {
  server.maxConnections = limits.maxConnections;
}

/**
 * Lets a route write nothing for up to `ms` (a long-poll) without the idle timeout closing its
 * socket. The socket gets its usual idle timeout back with its next request (Node restores it
 * after the keep-alive wait).
 */
export function holdSocketFor(request: FastifyRequest, ms: number, limits: Limits): void {
  const socket = request.raw.socket;
  // an injected request (tests, an embedding app's inject) has a stand-in socket without timers
  if (typeof socket?.setTimeout === 'function') socket.setTimeout(ms + limits.idleTimeoutMs);
}
