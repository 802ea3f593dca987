import swagger from '@fastify/swagger';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { ApiOptions, AppDeps } from './http/api-deps.ts';
import { createAuthenticator } from './http/auth.ts';
import { createEdgeGuard } from './http/edge-guard.ts';
import { handleError } from './http/error-handler.ts';
import { healthRoutes } from './http/health.routes.ts';
import { useCheckedJsonParser } from './http/json-body-parser.ts';
import { openapiOptions } from './http/openapi-document.ts';
import { createRateLimits, type RateLimits } from './http/rate-limits.ts';
import { createTenantSlots } from './http/tenant-slots.ts';
import { createKeyHolds } from './http/key-holds.ts';
import { operationRoutes } from './http/operations.routes.ts';
import { notFound, ProblemError } from './http/problem.ts';
import { requestRoutes } from './http/requests.routes.ts';
import { publicOpenapiRoutes } from './http/public-openapi.routes.ts';
import { registerConnectionMetrics } from './http/connection-metrics.ts';
import { capConnections } from './net/node-server-limits.ts';
import { requestIdOf } from './http/request-id.ts';
import { serverLimitOptions } from './http/server-limits.ts';
import { refuseUnknownRoutes } from './http/unknown-route.ts';
import { eventRoutes } from './http/events.routes.ts';
import { wsRoutes } from './http/ws.routes.ts';
import { assertDistinct } from './operations/registry.ts';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The whole API as a Fastify plugin, without a prefix: status, events, WebSocket, health, the
 * operations' POST routes and the app's routes, with their authentication, rate
 * limit, validator and problem+json error handler in the plugin's scope. A team registers it in
 * its own Fastify app (`app.register(idemqPlugin, { deps, operations })`); it never listens.
 * `operations` holds the forward routes too (loadProcessConfig reads them). Refuses (throws)
 * two operations with one name or one route. Every route is rate limited in `onRequest`, before its
 * body is read (see createRateLimits); the per-address budget counts `request.ip`, so an app that
 * registers the plugin behind a proxy sets its own `trustProxy` (buildApp takes TRUSTED_PROXIES).
 * The host app's unknown routes are its own: buildApp limits them with refuseUnknownRoutes.
 */
export const idemqPlugin: FastifyPluginAsync<{ deps: AppDeps } & ApiOptions> = async (
  app,
  { deps, operations, routes = [], limits: given },
) => {
  assertDistinct(operations);
  const closing = new AbortController();
  app.decorate('closing', closing.signal);
  app.addHook('preClose', async () => closing.abort());
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  app.setErrorHandler(handleError);
  useCheckedJsonParser(app, deps.config.jsonLimits);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // a keep-alive connection still busy when closing began would otherwise hold close() open, and
    // one a balancer reuses while the server drains would be cut when it closes
    if (closing.signal.aborted || deps.draining?.aborted) reply.header('connection', 'close');
  });

  const auth = createAuthenticator(deps.config.apiKeys, deps.keys);
  const limits = given ?? rateLimitsOf(deps, app.log);
  const guard = createEdgeGuard(auth, limits);
  const held = createTenantSlots(deps.config.maxHeldPerTenant);
  // every connection held for a key, ended at the first refresh that finds the key revoked
  const holds = createKeyHolds(auth);
  app.addHook('onClose', async () => holds.close());

  // the document is collected here and served only by the admin server (see openapiDocument)
  await app.register(swagger, openapiOptions);
  DOCUMENTS.set(app.server, () => app.swagger() as Record<string, unknown>);
  await app.register(async (open) => {
    open.addHook('onRequest', guard.anonymous);
    await open.register(healthRoutes, deps);
  });
  await app.register(async (v1) => {
    v1.addHook('onRequest', guard.authenticated);
    await v1.register(operationRoutes, { deps, operations, held, holds, limits });
    await v1.register(requestRoutes, { ...deps, held, holds });
    await v1.register(eventRoutes, { ...deps, held, holds });
    for (const register of routes) await v1.register(register, { db: deps.db });
  });
  await app.register(wsRoutes, {
    deps,
    auth,
    guard,
    sockets: createTenantSlots(deps.config.maxSocketsPerTenant),
    holds,
    subscribeAllowed: limits.subscribe,
  });
};

function rateLimitsOf(deps: AppDeps, log: FastifyBaseLogger): RateLimits {
  return createRateLimits(deps.rateLimitRedis, log, {
    keyPrefix: deps.config.queuePrefix,
    perTenant: deps.config.rateLimitPerMinute,
    perAddress: deps.config.rateLimitPerAddressPerMinute,
    bytesPerTenant: deps.config.rateLimitBytesPerMinute,
    subscribesPerTenant: deps.config.wsSubscribesPerMinute,
  });
}

/** The document of each server's idemqPlugin: the plugin's scope is encapsulated, the server is shared. */
const DOCUMENTS = new WeakMap<object, () => Record<string, unknown>>();

/**
 * The OpenAPI document of the idemqPlugin registered in `app` (any scope of the same server), once
 * `app` is ready; the admin server serves it at /docs/json. Throws if `app` has no idemqPlugin.
 */
export function openapiDocument(app: FastifyInstance): Record<string, unknown> {
  const document = DOCUMENTS.get(app.server);
  if (!document) throw new Error('openapiDocument: no idemqPlugin is registered in this app');
  return document();
}

/**
 * Builds the standalone HTTP app: a Fastify server with the service's limits (deadlines, socket
 * caps), idemqPlugin and a problem+json 404 answered before any body is read, within the caller's
 * address budget, and with PUBLIC_OPENAPI the document and its UI (publicOpenapiRoutes); never
 * listens (tests call it with inject or listen on port 0). A caller's
 * `x-request-id` is kept only when short and plain (requestIdOf).
 */
export async function buildApp(deps: AppDeps, options: ApiOptions & { logger?: FastifyBaseLogger }): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: BODY_LIMIT_BYTES,
    // requestIdOf reads x-request-id itself: Fastify's requestIdHeader would take any value as it is
    requestIdHeader: false,
    genReqId: requestIdOf,
    // After the drain (drainServer), a request still arriving on an open connection is served, its
    // answer closing that connection: a 503 here would reach the client, as nginx does not retry it.
    return503OnClosing: false,
    // request.ip, the address the per-address limit counts, comes from X-Forwarded-For only through these
    trustProxy: deps.config.trustedProxies.length > 0 ? [...deps.config.trustedProxies] : false,
    ...serverLimitOptions(deps.config.http),
  });
  // behind a balancer the per-address cap is the balancer's: it is spared, and caps its clients itself
  const sockets = capConnections(app.server, deps.config.http, { exempt: deps.config.trustedProxies, upgrades: true });
  registerConnectionMetrics(deps.metrics, sockets);
  app.setErrorHandler(handleError);
  const limits = rateLimitsOf(deps, app.log);
  app.addHook('onRequest', refuseUnknownRoutes(limits));
  // a stand-in: refuseUnknownRoutes answers every unknown route first
  app.setNotFoundHandler((request) => {
    throw new ProblemError(notFound(`Route ${request.method} ${request.url.split('?')[0]}`));
  });
  await app.register(idemqPlugin, { deps, operations: options.operations, routes: options.routes, limits });
  const { enabled, publicUrl } = deps.config.publicOpenapi;
  if (enabled) await app.register(publicOpenapiRoutes, { document: () => openapiDocument(app), publicUrl, limits });
  return app;
}
