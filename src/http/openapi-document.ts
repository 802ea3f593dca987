import type { FastifyDynamicSwaggerOptions, SwaggerTransform } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import Type from 'typebox';
import { IdParams, SubmitHeaders } from './schemas.ts';

/**
 * Schemas the validator takes looser than clients must send, so that the service answers with its
 * own problem: a missing Idempotency-Key gets 400 `idempotency-key-missing` rather than a schema
 * error, a malformed id gets 404 like an unknown one rather than 400. The document states the contract.
 */
const DOCUMENTED_AS = new Map<unknown, unknown>([
  [IdParams, Type.Object({ id: Type.String({ format: 'uuid' }) })],
  [
    SubmitHeaders,
    Type.Object({
      'idempotency-key': Type.String({
        minLength: 1,
        description: '1 to 255 printable ASCII characters, bare or as a quoted structured-field string; a retry sends the same key',
      }),
      prefer: SubmitHeaders.properties.prefer,
    }),
  ],
]);

/**
 * Documents `actual`, a schema a route validates or serializes with, as `documented`: e.g. a
 * submit route's answers with the operation's output schema as `result`, while the serializer
 * keeps `result` as it was stored (a result recorded before the schema changed is still answered).
 */
export function documentAs(actual: object, documented: object): void {
  DOCUMENTED_AS.set(actual, documented);
}

type ResponseObject = { content?: Record<string, { schema?: unknown }> };

/** The response objects with their documented schemas swapped in (see documentAs). */
function documentResponses(response: unknown): unknown {
  if (!response || typeof response !== 'object') return response;
  return Object.fromEntries(
    Object.entries(response as Record<string, ResponseObject>).map(([status, r]) => {
      if (!r.content) return [status, r];
      const content = Object.fromEntries(
        Object.entries(r.content).map(([type, media]) => [
          type,
          DOCUMENTED_AS.has(media.schema) ? { ...media, schema: DOCUMENTED_AS.get(media.schema) } : media,
        ]),
      );
      return [status, { ...r, content }];
    }),
  );
}

/** The document's view of a route: documented request and response schemas, and WebSocket routes shown. */
const documentRoute: SwaggerTransform = ({ schema, url, route }) => {
  if (!schema) return { schema, url };
  const documented: FastifySchema & { hide?: boolean } = { ...schema };
  for (const part of ['params', 'headers'] as const) {
    if (DOCUMENTED_AS.has(schema[part])) documented[part] = DOCUMENTED_AS.get(schema[part]);
  }
  if (schema.response) documented.response = documentResponses(schema.response);
  // @fastify/websocket hides upgrade routes; ours has a schema of its own
  if (route.websocket) documented.hide = false;
  return { schema: documented, url };
};

/** @fastify/swagger options: the OpenAPI 3.1 document served at /docs/json. */
export const openapiOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: { title: 'idemq', version: '0.1.0', description: 'Idempotent request processing: submit once, retry safely, learn the outcome.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  },
  transform: documentRoute,
};
