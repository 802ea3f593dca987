import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { RateLimits } from './rate-limits.ts';

export interface PublicOpenapiOptions {
  /** the public API's document, once the server is ready (openapiDocument) */
  document: () => Record<string, unknown>;
  /** PUBLIC_URL without a trailing slash; '' to name the origin each request came to */
  publicUrl: string;
  limits: RateLimits;
}

// a Host (or a trusted X-Forwarded-Host) that is a plain name or address and port, nothing that could break out of a URL
const PLAIN_HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The server a "Try it out" call goes to: PUBLIC_URL when set; else the origin the request came
 * to (its scheme and host, through TRUSTED_PROXIES as for client addresses), when that host is
 * plain; else `/`, the document's own origin.
 */
export function serverUrlOf(request: Pick<FastifyRequest, 'protocol' | 'host'>, publicUrl: string): string {
  if (publicUrl !== '') return publicUrl;
  return PLAIN_HOST.test(request.host) ? `${request.protocol}://${request.host}` : '/';
}

/**
 * The OpenAPI document and Swagger UI on the public port, for PUBLIC_OPENAPI=true: the UI at
 * `/docs`, the document at `/docs/json` (and `/docs/yaml`), the same document as the admin
 * port's, with `servers` naming this service so the UI's "Try it out" calls it. Only the public
 * routes are in it (the admin server's are not routes of this server). Each call counts against
 * its address's budget, like every open route; a document that names the request's host is
 * never cached (`no-store`), so a shared cache cannot hand one client's host to another.
 */
export const publicOpenapiRoutes: FastifyPluginAsync<PublicOpenapiOptions> = async (app, { document, publicUrl, limits }) => {
  app.addHook('onRequest', async (request, reply) => limits.address(request, reply));
  // filled once the server is ready: the routes are all known only then
  const filled: Record<string, unknown> = {};
  app.addHook('onReady', async () => {
    Object.assign(filled, document());
  });
  await app.register(swagger, { mode: 'static', specification: { document: filled as never } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    transformSpecification: (spec, request, reply) => {
      if (publicUrl === '') reply.header('cache-control', 'no-store');
      return { ...spec, servers: [{ url: serverUrlOf(request, publicUrl) }] };
    },
  });
};
