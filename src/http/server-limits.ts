import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { nodeServerOptions } from '../net/node-server-limits.ts';

type Limits = Config['http'];

/**
 * Fastify and Node http options that bound what one client can hold: a request must arrive whole
 * within its deadlines, a silent socket is closed, and sockets beyond the caps are closed on
 * arrival. The caps are applied by `capConnections` once the server exists.
 */
export function serverLimitOptions(limits: Limits): FastifyHttpOptions<Server> {
  const { keepAliveTimeout: _, ...http } = nodeServerOptions(limits);
  return {
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http,
  };
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
