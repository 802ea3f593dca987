import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../fixtures/app/app.ts';

const { operations } = fixture;
import { adminAuth, auth, createTestContext, type TestContext } from '../helpers/context.ts';

type Json = Record<string, any>;

let ctx: TestContext;
let app: FastifyInstance;
let doc: Json;

beforeAll(async () => {
  ctx = await createTestContext();
  app = await ctx.startApi();
  await ctx.startWorker();
  // served by the admin server only
  const res = await (await ctx.startAdmin(app)).inject({ url: '/docs/json', headers: adminAuth });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});
afterAll(() => ctx.close());

const responses = (path: string, method = 'get'): Json => {
  const operation = doc.paths[path]?.[method];
  expect(operation, `${method.toUpperCase()} ${path} is documented`).toBeDefined();
  return operation.responses;
};
/** Header names are case-insensitive: compare them lowercased. */
const headerNames = (response: Json) => Object.keys(response.headers ?? {}).map((h) => h.toLowerCase());

function expectProblem(response: Json | undefined, label: string) {
  expect(response, `${label} is documented`).toBeDefined();
  expect(Object.keys(response!.content ?? {}), `${label} content`).toEqual(['application/problem+json']);
  expect(response!.content['application/problem+json'].schema.required).toEqual(expect.arrayContaining(['type', 'title', 'status']));
}

describe('the OpenAPI document at /docs/json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every response of every operation, none as "Default Response"', () => {
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const [method, operation] of Object.entries<Json>(item)) {
        for (const [status, response] of Object.entries<Json>(operation.responses)) {
          expect(response.description, `${method} ${path} ${status}`).not.toBe('Default Response');
          expect(response.description.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('documents each POST operation per status, errors as application/problem+json, with their headers', () => {
    expect(operations.length).toBeGreaterThan(0);
    for (const op of operations) {
      const r = responses(op.route, 'post');
      for (const status of ['200', '202']) {
        expect(Object.keys(r[status]?.content ?? {}), `${op.route} ${status}`).toEqual(['application/json']);
        expect(r[status].content['application/json'].schema.properties.id.format).toBe('uuid');
      }
      expect(headerNames(r['202'])).toEqual(
        expect.arrayContaining(['location', 'retry-after', 'idempotent-replayed', 'preference-applied', 'x-request-id']),
      );
      expect(headerNames(r['200'])).toEqual(
        expect.arrayContaining(['location', 'idempotent-replayed', 'preference-applied', 'x-request-id']),
      );
      for (const status of ['400', '401', '413', '415', '422', '429', '503']) expectProblem(r[status], `${op.route} ${status}`);
      expect(headerNames(r['401'])).toContain('www-authenticate');
      expect(headerNames(r['429'])).toContain('retry-after');
      expect(headerNames(r['503'])).toContain('retry-after');
      for (const status of ['400', '401', '422', '503']) expect(headerNames(r[status])).toContain('x-request-id');
      // a generated client must see no JSON body for an error: every 4xx/5xx entry is problem+json
      for (const [status, response] of Object.entries<Json>(r)) {
        if (/^[45]/.test(status)) expectProblem(response, `${op.route} ${status}`);
      }
    }
  });

  it("shows an operation's output schema as the request's result, while the answer still serializes the stored result", async () => {
    for (const op of operations) {
      expect(op.output, op.name).toBeDefined();
      for (const status of ['200', '202']) {
        const result = responses(op.route, 'post')[status].content['application/json'].schema.properties.result;
        expect(Object.keys(result.properties ?? {}), `${op.route} ${status}`).toEqual(Object.keys((op.output as Json).properties));
      }
    }
    const item = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { ...auth(), 'idempotency-key': 'output-schema', 'content-type': 'application/json', prefer: 'wait=10' },
      payload: JSON.stringify({ name: 'item', quantity: 5 }),
    });
    expect(item.statusCode, item.body).toBe(200);
    expect(item.json().result).toMatchObject({ name: 'item', quantity: 5, left: null });
  });

  it('says Idempotency-Key is required on every POST, and Prefer is optional', () => {
    for (const op of operations) {
      const parameters: Json[] = doc.paths[op.route].post.parameters;
      const key = parameters.find((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key');
      expect(key, op.route).toMatchObject({ required: true, schema: { type: 'string', minLength: 1 } });
      const prefer = parameters.find((p) => p.in === 'header' && p.name.toLowerCase() === 'prefer');
      expect(prefer?.required ?? false).toBe(false);
    }
  });

  it('documents ids as uuids', () => {
    for (const path of ['/v1/requests/{id}', '/v1/requests/{id}/events', '/v1/items/{id}']) {
      const id = (doc.paths[path].get.parameters as Json[]).find((p) => p.in === 'path' && p.name === 'id');
      expect(id, path).toMatchObject({ required: true, schema: { type: 'string', format: 'uuid' } });
    }
  });

  it('documents the request reads: 200 with Location and Retry-After, 401, 404, 503', () => {
    const r = responses('/v1/requests/{id}');
    expect(headerNames(r['200'])).toEqual(expect.arrayContaining(['location', 'retry-after', 'x-request-id']));
    for (const status of ['400', '401', '404', '429', '503']) expectProblem(r[status], `GET /v1/requests/{id} ${status}`);
    expect(headerNames(r['401'])).toContain('www-authenticate');
    const item = responses('/v1/items/{id}');
    for (const status of ['401', '404', '503']) expectProblem(item[status], `GET /v1/items/{id} ${status}`);
  });

  it('documents the event stream as text/event-stream, and its 204 after the terminal state', () => {
    const r = responses('/v1/requests/{id}/events');
    expect(Object.keys(r['200'].content)).toEqual(['text/event-stream']);
    expect(r['204']).toBeDefined();
    expect(r['204'].content).toBeUndefined();
    for (const status of ['401', '404', '503']) expectProblem(r[status], `events ${status}`);
    const lastEventId = (doc.paths['/v1/requests/{id}/events'].get.parameters as Json[]).find(
      (p) => p.name.toLowerCase() === 'last-event-id',
    );
    expect(lastEventId).toMatchObject({ in: 'header', required: false });
  });

  it('documents /readyz answering 503 with Retry-After', () => {
    const r = responses('/readyz');
    expect(r['200'].content['application/json']).toBeDefined();
    expectProblem(r['503'], '/readyz 503');
    expect(headerNames(r['503'])).toContain('retry-after');
  });

  it('documents the WebSocket upgrade: 101, and 401 with WWW-Authenticate', () => {
    const r = responses('/v1/ws');
    expect(r['101']).toBeDefined();
    expect(r['101'].description).toMatch(/asyncapi/i);
    expectProblem(r['401'], '/v1/ws 401');
    expect(headerNames(r['401'])).toContain('www-authenticate');
  });

  it('documents the answers the service really gives: status, media type and headers', async () => {
    const documentedHeaders = ['location', 'retry-after', 'idempotent-replayed', 'preference-applied', 'www-authenticate', 'x-request-id'];
    const expectDocumented = (
      path: string,
      method: string,
      res: { statusCode: number; headers: Record<string, unknown>; body: string },
    ) => {
      const r = responses(path, method);
      const response = r[String(res.statusCode)] ?? r[`${String(res.statusCode)[0]}XX`];
      expect(response, `${method} ${path} ${res.statusCode} is documented`).toBeDefined();
      const mediaType = String(res.headers['content-type'] ?? '').split(';')[0];
      if (res.body === '') expect(response.content).toBeUndefined();
      else expect(Object.keys(response.content ?? {}), `${method} ${path} ${res.statusCode}`).toContain(mediaType);
      for (const name of documentedHeaders) {
        if (res.headers[name] !== undefined) expect(headerNames(response), `${method} ${path} ${res.statusCode}`).toContain(name);
      }
    };
    const body = { name: 'item', quantity: 100 };
    const submit = (headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/v1/items', headers: { ...auth(), ...headers }, payload: body });
    const key = crypto.randomUUID();
    for (const res of [
      await submit({}),
      await submit({ 'idempotency-key': key }),
      await submit({ 'idempotency-key': key }),
      await submit({ 'idempotency-key': key, prefer: 'wait=0' }),
      await app.inject({
        method: 'POST',
        url: '/v1/items',
        headers: { ...auth(), 'idempotency-key': key },
        payload: { ...body, quantity: 1 },
      }),
      await app.inject({ method: 'POST', url: '/v1/items', headers: { authorization: 'Bearer nope-nope-nope' }, payload: body }),
      await app.inject({
        method: 'POST',
        url: '/v1/items',
        headers: { ...auth(), 'idempotency-key': key, 'content-type': 'text/plain' },
        payload: 'x',
      }),
    ]) {
      expectDocumented('/v1/items', 'post', res);
    }
    expect((await submit({})).statusCode).toBe(400);
    const id = (await submit({ 'idempotency-key': key })).json().id;
    expectDocumented('/v1/requests/{id}', 'get', await app.inject({ url: `/v1/requests/${id}`, headers: auth() }));
    expectDocumented('/v1/requests/{id}', 'get', await app.inject({ url: '/v1/requests/not-a-uuid', headers: auth() }));
    expectDocumented('/v1/requests/{id}', 'get', await app.inject({ url: `/v1/requests/${id}?wait=1.5`, headers: auth() }));
    expectDocumented('/v1/items/{id}', 'get', await app.inject({ url: '/v1/items/not-a-uuid', headers: auth() }));
    expectDocumented('/v1/requests/{id}/events', 'get', await app.inject({ url: '/v1/requests/not-a-uuid/events', headers: auth() }));
    expectDocumented('/v1/ws', 'get', await app.inject({ url: '/v1/ws', headers: auth() }));
    expectDocumented('/readyz', 'get', await app.inject({ url: '/readyz' }));
    expectDocumented('/healthz', 'get', await app.inject({ url: '/healthz' }));
  });
});
