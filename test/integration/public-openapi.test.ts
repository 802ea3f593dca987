import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { serverUrlOf } from '../../src/http/public-openapi.routes.ts';
import { adminAuth, auth, createTestContext, type TestContext } from '../helpers/context.ts';

type Json = Record<string, any>;

// what only the admin server serves: none of it may reach the public port, whatever PUBLIC_OPENAPI says
const ADMIN_ONLY = ['/metrics', '/queues', '/console/', '/api/requests/recent', '/docs/asyncapi.json', '/login'];

describe('the OpenAPI document on the public port, PUBLIC_OPENAPI=true', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let admin: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext({ PUBLIC_OPENAPI: 'true' });
    app = await ctx.startApi();
    admin = await ctx.startAdmin(app);
  });
  afterAll(() => ctx?.close());

  it("serves the admin port's document, with servers naming the origin the request came to, uncached", async () => {
    const res = await app.inject({ url: '/docs/json', headers: { host: 'api.example.test:8443' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const doc = res.json<Json>();
    expect(doc.servers).toEqual([{ url: 'http://api.example.test:8443' }]);
    const fromAdmin = (await admin.inject({ url: '/docs/json', headers: adminAuth })).json<Json>();
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(fromAdmin.paths).sort());
    expect(doc.paths['/v1/requests/{id}']).toBeDefined();
  });

  it('lists only public routes: no admin route leaks into the document or onto the port', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json<Json>();
    const paths = Object.keys(doc.paths);
    expect(paths.length).toBeGreaterThan(3);
    expect(paths.filter((p) => !p.startsWith('/v1/') && p !== '/healthz' && p !== '/readyz')).toEqual([]);
    for (const url of ADMIN_ONLY) {
      const res = await app.inject({ url, headers: auth('acme') });
      expect(res.statusCode, `GET ${url} on the public port`).toBe(404);
    }
  });

  it('serves Swagger UI at /docs/, whose "Try it out" calls this server', async () => {
    const page = await app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const init = await app.inject({ url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    expect(init.body).toMatch(/json/);
  });

  it('names no hostile host: a Host that is not a plain name and port gives the relative server "/"', async () => {
    const res = await app.inject({ url: '/docs/json', headers: { host: 'evil.test/"><script>' } });
    expect(res.statusCode).toBe(200);
    expect(res.json<Json>().servers).toEqual([{ url: '/' }]);
    expect(serverUrlOf({ protocol: 'https', host: 'a.test@b.test' }, '')).toBe('/');
    expect(serverUrlOf({ protocol: 'https', host: '[::1]:3000' }, '')).toBe('https://[::1]:3000');
  });

  it('counts against the address budget, like every open route', async () => {
    const res = await app.inject({ url: '/docs/json' });
    expect(res.headers['ratelimit-policy']).toMatch(/"address"/);
  });
});

describe('PUBLIC_URL names the server whatever the request says', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext({ PUBLIC_OPENAPI: 'true', PUBLIC_URL: 'https://api.example.com/' });
    app = await ctx.startApi();
  });
  afterAll(() => ctx?.close());

  it('fills servers from PUBLIC_URL (no trailing slash), cacheable', async () => {
    const res = await app.inject({ url: '/docs/json', headers: { host: 'elsewhere.test' } });
    expect(res.json<Json>().servers).toEqual([{ url: 'https://api.example.com' }]);
    expect(res.headers['cache-control']).toBeUndefined();
  });

  it('refuses a PUBLIC_URL that is not an http(s) URL, and a PUBLIC_OPENAPI other than true or false', () => {
    expect(() => loadConfig({ PUBLIC_URL: 'javascript:alert(1)' })).toThrow(/PUBLIC_URL: must be an http/);
    expect(() => loadConfig({ PUBLIC_URL: 'https://a.test/?x=1' })).toThrow(/PUBLIC_URL/);
    expect(() => loadConfig({ PUBLIC_OPENAPI: 'yes' })).toThrow(/PUBLIC_OPENAPI: must be true or false/);
  });
});

describe('the public port by default', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
  });
  afterAll(() => ctx?.close());

  it('serves no document and no UI: 404, as any unknown route', async () => {
    expect(loadConfig({}).publicOpenapi).toEqual({ enabled: false, publicUrl: '' });
    for (const url of ['/docs', '/docs/', '/docs/json', '/docs/yaml', ...ADMIN_ONLY]) {
      const res = await app.inject({ url });
      expect(res.statusCode, `GET ${url}`).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });
});
