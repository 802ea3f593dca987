import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { AppDeps } from './api-deps.ts';
import type { Authenticator } from './auth.ts';
import type { EdgeGuard } from './edge-guard.ts';
import type { KeyHold, KeyHolds } from './key-holds.ts';
import { emptyResponse, HEADER, problemResponse } from './openapi-responses.ts';
import { type TenantSlots, tooManySockets } from './tenant-slots.ts';
import { CLOSE, runWsSession } from './ws-session.ts';

/** Ping every so often; a peer that has not answered the previous ping is dropped. */
export const HEARTBEAT_MS = 30_000;

/**
 * GET /v1/ws. An `Authorization` header on the upgrade is checked before upgrading (a wrong one is
 * refused with 401); browsers, which cannot set it, send `{"type":"auth","token":…}` first instead,
 * which keeps the secret out of URLs and logs. The upgrade counts against the tenant's rate limit
 * (with the header) or the address's (without), and is refused with 429 when the tenant holds all
 * its sockets already.
 */
export interface WsRouteOptions {
  deps: Pick<AppDeps, 'config' | 'readRequest' | 'feed' | 'onPushed'>;
  auth: Authenticator;
  guard: EdgeGuard;
  sockets: TenantSlots;
  holds: KeyHolds;
  subscribeAllowed(tenantId: string): Promise<boolean>;
}

export const wsRoutes: FastifyPluginAsyncTypebox<WsRouteOptions> = async (app, opts) => {
  await app.register(websocket, { options: { maxPayload: 16 * 1024 } });
  const alive = new WeakSet<WebSocket>();
  const heartbeat = setInterval(() => {
    for (const socket of app.websocketServer.clients) {
      if (!alive.has(socket)) {
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      socket.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  app.addHook('onClose', async () => clearInterval(heartbeat));
  // close open sockets when the server shuts down, so a graceful close does not wait on them
  app.addHook('preClose', async () => {
    for (const socket of app.websocketServer.clients) socket.close(1001, 'server shutting down');
  });

  app.get(
    '/v1/ws',
    {
      websocket: true,
      schema: {
        summary: 'WebSocket: subscribe to requests and receive each status change',
        description: 'The messages, error codes and close codes are described by the AsyncAPI document at `/docs/asyncapi.json`.',
        tags: ['requests'],
        // the key may come as the first message instead of this header (browsers cannot set it)
        security: [{ bearer: [] }, {}],
        response: {
          101: emptyResponse('Switching Protocols: the WebSocket session, as the AsyncAPI document at `/docs/asyncapi.json` describes it.'),
          401: problemResponse(
            'The `Authorization` header on the upgrade is not a valid API key (`…/unauthorized`).',
            HEADER.wwwAuthenticate,
          ),
          429: problemResponse(
            'Too many requests for this API key or address, or the key holds all its sockets on this server (`…/rate-limited`).',
            HEADER.rateLimited,
          ),
          404: emptyResponse('Not a WebSocket upgrade request.'),
        },
      },
      onRequest: async (request, reply) => {
        if (!request.headers.authorization) return opts.guard.anonymous(request, reply);
        await opts.guard.authenticated(request, reply);
        if (opts.sockets.held(request.tenantId) >= opts.sockets.max) throw tooManySockets(opts.sockets.max);
      },
    },
    (socket, request) => {
      alive.add(socket);
      socket.on('pong', () => alive.add(socket));
      // A socket's key is judged again whenever the stored keys are refreshed: a revoked key's
      // socket is closed, as its next request would be refused. Only the socket's first key counts.
      let hold: KeyHold | undefined;
      const holdFor = (keyHash: string) => {
        hold = opts.holds.hold(keyHash);
        hold.signal.addEventListener('abort', () => socket.close(CLOSE.unauthorized, 'api key revoked'), { once: true });
      };
      if (request.tenantId) holdFor(request.keyHash);
      socket.on('close', () => hold?.release());
      const tenantOf = (secret: string) => {
        const grant = opts.auth.grantOf(secret);
        if (grant && !hold) holdFor(grant.keyHash);
        return grant?.tenantId;
      };
      runWsSession(
        socket,
        {
          ...opts.deps,
          tenantOf,
          sockets: opts.sockets,
          messagesPerSecond: opts.deps.config.wsMessagesPerSecond,
          subscribeAllowed: opts.subscribeAllowed,
        },
        request.tenantId,
      );
    },
  );
};
