import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Queue } from 'bullmq';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { asyncapiRoutes } from '../http/asyncapi.routes.ts';
import { handleError } from '../http/error-handler.ts';
import { notFound, ProblemError, sendProblem } from '../http/problem.ts';
import { capConnections } from '../http/node-server-limits.ts';
import { serverLimitOptions } from '../http/server-limits.ts';
import type { ReadRequest } from '../idempotency/request-reader.ts';
import type { QueuedRequest } from '../queue/request-queue.ts';
import type { StatusFeed } from '../status/status-feed.ts';
import { adminUnauthorized, createAdminAuth } from './admin-auth.ts';
import { bullBoardRoutes } from './bull-board.ts';
import { consoleApiRoutes } from './console-api.routes.ts';
import { consolePageRoutes } from './console-page.routes.ts';
import { loginRoutes } from './login.routes.ts';

/** What the admin server needs; the API process's own connections, shared. */
export interface AdminDeps {
  token: string;
  /** the same socket limits as the public server's */
  http: Config['http'];
  db: Kysely<Database>;
  feed: StatusFeed;
  readRequest: ReadRequest;
  /** the request queue's shards: Bull Board shows them */
  queues: readonly Queue[];
  requeue(request: QueuedRequest): Promise<void>;
  /** Prometheus registry served at GET /metrics */
  metrics: Registry;
  /** the public API's OpenAPI document (its app's `swagger()`, once ready) */
  openapi: Record<string, unknown>;
}

const ADMIN_BODY_LIMIT_BYTES = 64 * 1024;
const OPEN = new Set(['/login', '/logout']);

/**
 * The admin server: /metrics, /docs (with /docs/json and /docs/asyncapi.json), Bull Board at
 * /queues and the request console at /console/ with its admin API at /api, all behind ADMIN_TOKEN
 * (a bearer header, or the login form's session cookie). Never listens: the API process does.
 */
export async function buildAdminApp(deps: AdminDeps, options: { logger?: FastifyBaseLogger } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: ADMIN_BODY_LIMIT_BYTES,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    ...serverLimitOptions(deps.http),
  });
  capConnections(app.server, deps.http);
  const closing = new AbortController();
  app.decorate('closing', closing.signal);
  app.addHook('preClose', async () => closing.abort());
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request) => {
    throw new ProblemError(notFound(`Route ${request.method} ${request.url.split('?')[0]}`));
  });

  const auth = createAdminAuth(deps.token);
  app.addHook('onRequest', async (request, reply) => {
    if (OPEN.has(request.url.split('?')[0]!) || auth.allows(request)) return;
    // a browser asking for a page goes to the login form; anything else gets the problem
    if (request.method === 'GET' && request.headers.accept?.includes('text/html')) return reply.redirect('/login', 303);
    // sent here, not thrown: Bull Board's scope has an error handler of its own
    return sendProblem(reply, adminUnauthorized(request), request.url.split('?')[0]);
  });

  await app.register(loginRoutes, { auth });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(deps.metrics.contentType);
    return deps.metrics.metrics();
  });
  await app.register(swagger, { mode: 'static', specification: { document: deps.openapi as never } });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(asyncapiRoutes);
  await app.register(bullBoardRoutes, { queues: deps.queues });
  await app.register(consolePageRoutes);
  await app.register(consoleApiRoutes, deps);
  return app;
}
