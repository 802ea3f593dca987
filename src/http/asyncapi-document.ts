import type { TSchema } from 'typebox';
import { HEARTBEAT_MS } from './ws.routes.ts';
import {
  AuthenticatedMessage,
  AuthMessage,
  ErrorMessage,
  StatusMessage,
  SubscribeMessage,
  UnsubscribeMessage,
  WS_ERROR_MEANINGS,
} from './ws-messages.ts';
import { CLOSE, WS_LIMITS } from './ws-session.ts';

/** Why the server closes a socket with each of its close codes. */
const CLOSE_MEANINGS: Record<keyof typeof CLOSE, string> = {
  unauthorized: `an invalid API key in the \`auth\` message, no authentication within ${WS_LIMITS.authTimeoutMs / 1000} s, or the socket's key was revoked (within seconds of the revocation)`,
  slowConsumer: `the client does not read: over ${WS_LIMITS.maxBufferedBytes / (1024 * 1024)} MiB unsent`,
  policyViolation: `a message other than \`auth\` before authenticating, or more than ${WS_LIMITS.maxBadMessages} bad messages (not JSON, unknown, a second \`auth\`) within ${WS_LIMITS.badWindowMs / 1000} s`,
  messageFlood: `a flood: more than ${WS_LIMITS.floodCloseAfter} messages over the socket's rate within ${WS_LIMITS.floodWindowMs / 1000} s (WS_MESSAGES_PER_SECOND; each answered \`rate_limited\`)`,
  tooManySockets:
    'the API key already holds as many sockets as it may on this server (MAX_SOCKETS_PER_TENANT): share one socket, or close another',
  goingAway: 'the server is shutting down: reconnect, and subscribe again',
};

const message = (name: string, summary: string, payload: TSchema) => ({
  name,
  title: name,
  summary,
  contentType: 'application/json',
  payload,
});
const ref = (path: string) => ({ $ref: `#/${path}` });
const channel = ref('channels/session');
const messages = (...names: string[]) => names.map((name) => ref(`channels/session/messages/${name}`));
const errorCodes = Object.entries(WS_ERROR_MEANINGS)
  .map(([code, meaning]) => `\`${code}\`: ${meaning}`)
  .join('; ');

/**
 * The WebSocket protocol of GET /v1/ws as an AsyncAPI 3.0 document, built from the schemas and
 * constants the session runs on, so that it cannot drift from them. The application it describes
 * is the server: it receives `auth`, `subscribe` and `unsubscribe`, and sends the rest.
 */
export function asyncapiDocument() {
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'idemq WebSocket',
      version: '0.1.0',
      description:
        'Follow requests over one socket: authenticate, subscribe, and receive the current state at once and then every change. ' +
        `The server pings every ${HEARTBEAT_MS / 1000} s and drops peers that do not answer.`,
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: 'localhost:3000',
        protocol: 'ws',
        description: 'The API itself (its HOST and PORT); `wss` behind TLS.',
        security: [ref('components/securitySchemes/bearer')],
      },
    },
    channels: {
      session: {
        address: '/v1/ws',
        title: 'A WebSocket session',
        description:
          'Authenticate with `Authorization: Bearer <api key>` on the upgrade (a wrong one is refused with 401), ' +
          'or send an `auth` message first (browsers cannot set headers; never put keys in URLs). ' +
          `Up to ${WS_LIMITS.maxSubscriptions} subscriptions per socket. Close codes are listed under \`x-close-codes\`.`,
        messages: Object.fromEntries(
          ['auth', 'authenticated', 'subscribe', 'unsubscribe', 'status', 'error'].map((name) => [
            name,
            ref(`components/messages/${name}`),
          ]),
        ),
        bindings: {
          ws: {
            bindingVersion: '0.1.0',
            method: 'GET',
            headers: {
              type: 'object',
              properties: { authorization: { type: 'string', description: '`Bearer <api key>`; optional, see the `auth` message' } },
            },
          },
        },
        'x-close-codes': Object.entries(CLOSE).map(([name, code]) => ({ code, name, meaning: CLOSE_MEANINGS[name as keyof typeof CLOSE] })),
      },
    },
    operations: {
      authenticate: {
        action: 'receive',
        channel,
        summary: 'The first message when the upgrade carried no Authorization header.',
        messages: messages('auth'),
        reply: { channel, messages: messages('authenticated') },
      },
      subscribe: {
        action: 'receive',
        channel,
        summary: 'Follow a request: its current state comes at once, then every change until terminal.',
        messages: messages('subscribe'),
        reply: { channel, messages: messages('status', 'error') },
      },
      unsubscribe: { action: 'receive', channel, summary: 'Stop following a request.', messages: messages('unsubscribe') },
      pushStatus: {
        action: 'send',
        channel,
        summary: "A request's state, on subscribing and on every change.",
        messages: messages('status'),
      },
      sendError: {
        action: 'send',
        channel,
        summary: 'A refused message or subscription; the socket stays open.',
        messages: messages('error'),
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API key, on the upgrade or in the `auth` message' } },
      messages: {
        auth: message('auth', 'Authenticate with an API key.', AuthMessage),
        authenticated: message('authenticated', 'The `auth` message was accepted.', AuthenticatedMessage),
        subscribe: message('subscribe', 'Follow a request of the tenant.', SubscribeMessage),
        unsubscribe: message('unsubscribe', 'Stop following a request.', UnsubscribeMessage),
        status: message(
          'status',
          "A request's state: the same fields as GET /v1/requests/{id}, plus `requestId` and `version`.",
          StatusMessage,
        ),
        error: message('error', `An error, by \`code\`: ${errorCodes}.`, ErrorMessage),
      },
    },
  };
}
