import type { FastifyInstance } from 'fastify';
import { asyncapiDocument } from './asyncapi-document.ts';

/** GET /docs/asyncapi.json: the WebSocket protocol, next to the OpenAPI document at /docs/json. */
export async function asyncapiRoutes(app: FastifyInstance): Promise<void> {
  const document = asyncapiDocument();
  app.get('/docs/asyncapi.json', { schema: { hide: true } }, async () => document);
}
