import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Target } from '../load/connection-pool.ts';
import { freePort, LOG_DIR, type Service, startScript, waitHttpReady } from '../services.ts';

/** SHA-256 rounds per upstream call: a fixed, small piece of CPU work */
export const UPSTREAM_WORK_ROUNDS = 200;
/** the forward route the gateway scenario calls, in front of the upstream's POST /work */
export const GATEWAY_ROUTE = '/v1/forward';

/**
 * Starts the gateway scenario's upstream (bench/gateway/upstream-server.ts) on a free loopback port
 * and writes the routes file that puts GATEWAY_ROUTE in front of it, for the API and the workers
 * to start with (FORWARD_ROUTES_FILE).
 */
export async function startUpstream(): Promise<{ service: Service; target: Target; routesFile: string }> {
  const port = await freePort();
  const service = startScript('upstream', 'bench/gateway/upstream-server.ts', {
    env: { PATH: process.env.PATH },
    args: [String(port), String(UPSTREAM_WORK_ROUNDS)],
  });
  await waitHttpReady(service, `http://127.0.0.1:${port}/healthz`);
  const routesFile = join(LOG_DIR, 'gateway-routes.json');
  const route = {
    name: 'bench.forward',
    route: GATEWAY_ROUTE,
    upstream: `http://127.0.0.1:${port}/work`,
    timeoutMs: 10_000,
    maxAttempts: 3,
  };
  writeFileSync(routesFile, `${JSON.stringify([route], null, 2)}\n`);
  return { service, target: { host: '127.0.0.1', port }, routesFile };
}
