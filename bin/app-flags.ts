import { resolve } from 'node:path';
import type { Flag, Invocation } from './command.ts';
import { passOn } from './process-env.ts';

/** The flags of every command that runs a process of the service. */
export const APP_FLAGS: Record<string, Flag> = {
  app: {
    type: 'string',
    value: '<module>',
    description:
      "your app's module (default export or `app`: an IdemqApp with operations, migrations, routes), relative to the current directory",
  },
  routes: {
    type: 'string',
    value: '<file>',
    description: 'a JSON file of forward routes to your own service (sets FORWARD_ROUTES_FILE); no app needed',
  },
};

/** The environment every process of the service reads. */
export const SERVICE_ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['DATABASE_URL', 'Postgres, the source of truth (default postgres://postgres@127.0.0.1:5432/idemq)'],
  ['REDIS_URL', 'Redis for the queue and pub/sub (default redis://127.0.0.1:6379)'],
  ['QUEUE_PREFIX', 'the queue and channel prefix, one per database (default idemq)'],
  ['FORWARD_ROUTES_FILE', 'forward routes, as --routes'],
  ['LOG_LEVEL', 'pino level (default info)'],
];

export const API_ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['HOST, PORT', 'where the API listens (default 127.0.0.1:3000)'],
  ['API_KEYS', 'tenant:secret pairs, beside the stored keys of `idemq keys`'],
  ['ADMIN_HOST, ADMIN_PORT', 'the admin server: metrics, documents, the request console (default 127.0.0.1:9090)'],
  ['ADMIN_TOKEN', "the admin server's token"],
  ['SHUTDOWN_DRAIN_MS', 'on SIGTERM, how long the API keeps serving with /readyz 503 before it closes'],
  ['PUBLIC_OPENAPI, PUBLIC_URL', 'true: the OpenAPI document and its UI at /docs on PORT too (default false); the server it names'],
];

export const WORKER_ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['WORKER_CONCURRENCY', 'jobs a worker holds at once (default 256)'],
  ['SHUTDOWN_TIMEOUT_MS', 'how long a graceful shutdown waits for in-flight work (default 10000)'],
];

/** Passes --routes on as FORWARD_ROUTES_FILE (an absolute path, so child processes agree). */
export function passOnRoutes(invocation: Invocation): void {
  const routes = invocation.values.routes;
  passOn('FORWARD_ROUTES_FILE', typeof routes === 'string' ? resolve(routes) : undefined);
}

/** `--app` as given, if any. */
export const appFlag = (invocation: Invocation): string | undefined =>
  typeof invocation.values.app === 'string' ? invocation.values.app : undefined;
