import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { accountRoutes } from './http/accounts.routes.ts';
import { asyncapiRoutes } from './http/asyncapi.routes.ts';
import { createAuthenticator } from './http/auth.ts';
import { handleError } from './http/error-handler.ts';
import { healthRoutes } from './http/health.routes.ts';
import { openapiOptions } from './http/openapi-document.ts';
import { operationRoutes } from './http/operations.routes.ts';
import { notFound, ProblemError } from './http/problem.ts';
import { requestRoutes } from './http/requests.routes.ts';
import { capConnections, serverLimitOptions } from './http/server-limits.ts';
import { eventRoutes } from './http/events.routes.ts';
import { wsRoutes } from './http/ws.routes.ts';
import type { Accept } from './idempotency/request-acceptor.ts';
import type { ReadRequest } from './idempotency/request-reader.ts';
import type { StatusFeed } from './status/status-feed.ts';

/** Everything the HTTP layer needs, passed in: the app itself opens no connection. */
export interface AppDeps {
  config: Config;
  db: Kysely<Database>;
  feed: StatusFeed;
  /** a tenant's request by id, read from Postgres (batched with concurrent reads) */
  readRequest: ReadRequest;
  /** records a request under its key or finds the earlier one (see acceptRequest) */
  accept: Accept;
  /** Adds the jobs of recorded requests; may fail (Redis away): the reconciler covers that. */
  enqueue(requestIds: string[]): Promise<void>;
  /** Prometheus registry served at GET /metrics */
  metrics: Registry;
  /**
   * Readiness checks by name; `run` resolves when the service answers. The API is ready while every
   * `required` one answers; an optional one that does not only makes it `degraded`.
   */
  checks: Record<string, { run(): Promise<void>; required: boolean }>;
}

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Builds the whole HTTP app; never listens (tests call it with inject or listen on port 0). */
export async function buildApp(deps: AppDeps, options: { logger?: FastifyBaseLogger } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    ...serverLimitOptions(deps.config.http),
  });
  capConnections(app.server, deps.config.http);
  const closing = new AbortController();
  app.decorate('closing', closing.signal);
  app.addHook('preClose', async () => closing.abort());
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request) => {
    throw new ProblemError(notFound(`Route ${request.method} ${request.url.split('?')[0]}`));
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // a keep-alive connection still busy when closing began would otherwise hold close() open
    if (closing.signal.aborted) reply.header('connection', 'close');
  });

  await app.register(swagger, openapiOptions);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(asyncapiRoutes);

  await app.register(healthRoutes, deps);
  const auth = createAuthenticator(deps.config.apiKeys);
  await app.register(async (v1) => {
    v1.addHook('onRequest', auth.hook);
    await v1.register(rateLimit, {
      max: deps.config.rateLimitPerMinute,
      timeWindow: 60_000,
      hook: 'preHandler',
      keyGenerator: (request) => request.tenantId,
    });
    await v1.register(operationRoutes, deps);
    await v1.register(requestRoutes, deps);
    await v1.register(accountRoutes, deps);
    await v1.register(eventRoutes, deps);
  });
  await app.register(wsRoutes, { deps, auth });
  return app;
}
