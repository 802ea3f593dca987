import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { asyncapiDocument } from './asyncapi-document.ts';

/** GET /docs/asyncapi.json: the WebSocket protocol, next to the OpenAPI document at /docs/json. */
export const asyncapiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const document = asyncapiDocument();
  app.get('/docs/asyncapi.json', { schema: { hide: true } }, async () => document);
};
