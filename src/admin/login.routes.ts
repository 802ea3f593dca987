import { parse } from 'node:querystring';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { audit } from './admin-audit.ts';
import type { AdminAuth } from './admin-auth.ts';

const page = (message: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>idemq admin: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px system-ui,sans-serif;max-width:24rem;margin:4rem auto}input,button{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;margin:.3rem 0}.error{color:#b00}</style>
</head><body><h1>idemq admin</h1>${message ? `<p class="error" role="alert">${message}</p>` : ''}
<form method="post" action="/login"><label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button></form></body></html>`;

/**
 * The login form: POST /login with the admin token in a form body (never in a URL) starts a new
 * session (its cookie) and goes to the console; a wrong token shows the form again with 401.
 * POST /logout ends the session everywhere. Each is audited, without the token or the cookie.
 */
export const loginRoutes: FastifyPluginAsyncTypebox<{ auth: AdminAuth }> = async (app, { auth }) => {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, parse(String(body)));
  });
  app.get('/login', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(page('')));
  app.post('/login', { schema: { hide: true } }, async (request, reply) => {
    const isForm = request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') === true;
    const token = isForm ? formToken(request.body) : undefined;
    const ok = typeof token === 'string' && auth.isToken(token);
    if (!ok) {
      audit(request, 'login', { ok });
      return reply.code(401).type('text/html; charset=utf-8').send(page('That is not the admin token.'));
    }
    request.adminWho = await auth.startSession(request, reply);
    audit(request, 'login', { ok });
    return reply.redirect('/console/', 303);
  });
  app.post('/logout', { schema: { hide: true } }, async (request, reply) => {
    const ended = await auth.endSession(request, reply);
    audit(request, 'logout', { ended: ended !== undefined });
    return reply.redirect('/login', 303);
  });
};

/** The `token` field of a parsed form body (node:querystring's object); undefined for any other body. */
function formToken(body: unknown): unknown {
  return typeof body === 'object' && body !== null && 'token' in body ? body.token : undefined;
}
