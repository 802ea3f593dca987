import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Queue } from 'bullmq';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { asyncapiRoutes } from '../http/asyncapi.routes.ts';
import { handleError } from '../http/error-handler.ts';
import { notFound, ProblemError, sendProblem } from '../http/problem.ts';
import { capConnections } from '../net/node-server-limits.ts';
import { serverLimitOptions } from '../http/server-limits.ts';
import { createRateLimits } from '../http/rate-limits.ts';
import type { ReadRequest } from '../idempotency/request-reader.ts';
import type { QueuedRequest } from '../queue/request-queue.ts';
import type { RedisClient } from '../redis.ts';
import type { StatusFeed } from '../status/status-feed.ts';
import { audit } from './admin-audit.ts';
import { adminUnauthorized, createAdminAuth } from './admin-auth.ts';
import { bullBoardRoutes } from './bull-board.ts';
import { consoleApiRoutes } from './console-api.routes.ts';
import { consoleListRoutes } from './console-list.routes.ts';
import { consolePageRoutes } from './console-page.routes.ts';
import { loginRoutes } from './login.routes.ts';
import { noFraming } from './no-framing.ts';
import { crossOriginRefusal } from './same-origin.ts';

/** What the admin server needs; the API process's own connections, shared. */
export interface AdminDeps {
  /** token, session life, cookie and address budget (ADMIN_*) */
  admin: Config['admin'];
  /** the public server's: the admin plane reads a client's address the same way */
  trustedProxies: Config['trustedProxies'];
  /** the address budget's keys live under it, apart from the public port's */
  queuePrefix: string;
  /** where the address budget is counted, shared by every API instance */
  rateLimitRedis: RedisClient;
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
 * (a bearer header, or the login form's session cookie). Before any credential is checked, a
 * state-changing call from another origin is refused (403), and a call without a live session
 * (bearer, login form, none) is counted against its address's budget (429 beyond it). No page
 * may be framed. Never listens: the API process does.
 */
export async function buildAdminApp(deps: AdminDeps, options: { logger?: FastifyBaseLogger } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: ADMIN_BODY_LIMIT_BYTES,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    trustProxy: deps.trustedProxies.length > 0 ? [...deps.trustedProxies] : false,
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

  const auth = createAdminAuth(deps.db, deps.admin);
  const limits = createRateLimits(deps.rateLimitRedis, app.log, {
    keyPrefix: `${deps.queuePrefix}:admin`,
    // only the address budget is used here
    perTenant: 1,
    bytesPerTenant: 1,
    subscribesPerTenant: 1,
    perAddress: deps.admin.ratePerAddressPerMinute,
    addressCounts: 'admin calls without a live session (login tries among them)',
  });
  app.addHook('onSend', noFraming);
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    // problems are sent here, not thrown: Bull Board's scope has an error handler of its own
    try {
      const crossOrigin = crossOriginRefusal(request);
      if (crossOrigin) {
        audit(request, 'cross-origin-refused', {
          method: request.method,
          path,
          origin: request.headers.origin,
          site: request.headers['sec-fetch-site'],
        });
        return sendProblem(reply, crossOrigin, path);
      }
      if (request.headers.authorization === undefined) {
        request.adminWho = await auth.session(request);
        if (request.adminWho) return;
      }
      // counted before the credential is checked, so a guess past the budget learns nothing
      await limits.address(request, reply);
      if (OPEN.has(path)) return;
      if (auth.bearer(request) === 'token') {
        request.adminWho = 'token';
        return;
      }
    } catch (err) {
      if (err instanceof ProblemError) return sendProblem(reply, err.problem, path);
      return handleError(err as FastifyError, request, reply);
    }
    // a browser asking for a page goes to the login form; anything else gets the problem
    if (request.method === 'GET' && request.headers.accept?.includes('text/html')) return reply.redirect('/login', 303);
    audit(request, 'unauthorized', { method: request.method, path });
    return sendProblem(reply, adminUnauthorized(request), path);
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
  await app.register(consoleListRoutes, deps);
  return app;
}
