import { readFileSync } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

const file = (name: string) => readFileSync(new URL(`./console/${name}`, import.meta.url), 'utf8');

/** The request console: one static page and its script, no build step. */
export const consolePageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const html = file('index.html');
  const script = file('console.js');
  const headers = {
    'cache-control': 'no-store',
    // the page runs only its own script and talks only to this server
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
  };
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console/', { schema: { hide: true } }, async (_request, reply) =>
    reply.headers(headers).type('text/html; charset=utf-8').send(html),
  );
  app.get('/console/console.js', { schema: { hide: true } }, async (_request, reply) =>
    reply.headers(headers).type('text/javascript; charset=utf-8').send(script),
  );
};
