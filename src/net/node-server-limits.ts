import type { Server, ServerOptions } from 'node:http';
import type { Config } from '../config.ts';
import { guardConnections } from './connection-guard.ts';

type Limits = Config['http'];

/**
 * The Node http options behind the deadlines, for any server (`createServer(nodeServerOptions(limits))`):
 * a request must arrive whole within its deadlines, an idle keep-alive socket is closed.
 */
export function nodeServerOptions(limits: Limits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node enforces both deadlines only on this sweep (30 s by default), so a short deadline needs
    // a sweep a few times as frequent for the cut to come near it.
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/**
 * The total and per-address socket caps (guardConnections) on `server`; `exempt` are the peers the
 * per-address cap spares (the trusted proxies), `upgrades` says the server serves WebSockets.
 */
export function capConnections(server: Server, limits: Limits, opts: { exempt?: readonly string[]; upgrades?: boolean } = {}) {
  return guardConnections(server, { maxConnections: limits.maxConnections, maxPerAddress: limits.maxConnectionsPerAddress, ...opts });
}

/** A plain Node server's share of the limits a Fastify server takes as options: the idle timeout and both socket caps. */
export function limitNodeServer(server: Server, limits: Limits): void {
  server.setTimeout(limits.idleTimeoutMs);
  capConnections(server, limits);
}
