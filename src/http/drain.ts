import type { FastifyInstance } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The drain that precedes closing an API server: aborts `draining` (the app's `AppDeps.draining`:
 * from then on /readyz answers 503 and every answer carries `Connection: close`), closes the
 * connections idle right now, and keeps serving for `ms` before it resolves. The listener stays
 * open all along, so a balancer that has not yet noticed the failing readiness, or that has none
 * (nginx), still gets answers rather than refused connections; and by the time the caller closes
 * the server, no balancer holds a kept-alive connection to it that it could reuse mid-close.
 * `ms` 0 resolves at once.
 */
export async function drainServer(server: FastifyInstance, draining: AbortController, ms: number): Promise<void> {
  draining.abort();
  if (ms <= 0) return;
  // a balancer's idle keep-alive connections would otherwise be reused until the listener closes
  server.server.closeIdleConnections();
  await sleep(ms);
}
