import Type, { type Static } from 'typebox';
import { RequestViewSchema } from './schemas.ts';

/** The WebSocket protocol's messages: the session's types come from them, and so does the AsyncAPI document. */

export const AuthMessage = Type.Object({
  type: Type.Literal('auth'),
  token: Type.String({
    description:
      'an API key; an invalid one closes the socket with 4401. Before it, nothing else is taken: any other first message closes the socket with 1008',
  }),
});

export const SubscribeMessage = Type.Object({
  type: Type.Literal('subscribe'),
  requestId: Type.String({ description: 'the id of a request of the tenant; anything else answers `not_found`' }),
});

export const UnsubscribeMessage = Type.Object({
  type: Type.Literal('unsubscribe'),
  requestId: Type.String(),
});

export const AuthenticatedMessage = Type.Object({ type: Type.Literal('authenticated') });

export const StatusMessage = Type.Object({
  type: Type.Literal('status'),
  requestId: Type.String({ format: 'uuid' }),
  version: Type.Integer({ minimum: 1, description: 'grows with each change; a push may repeat after a failover: dedupe by it' }),
  ...RequestViewSchema.properties,
});

export const WsErrorCode = Type.Union([
  Type.Literal('bad_message'),
  Type.Literal('already_authenticated'),
  Type.Literal('not_found'),
  Type.Literal('too_many_subscriptions'),
  Type.Literal('unavailable'),
  Type.Literal('rate_limited'),
]);
export type WsErrorCode = Static<typeof WsErrorCode>;

/** What each error code tells the client, as the AsyncAPI document says it. */
export const WS_ERROR_MEANINGS: Record<WsErrorCode, string> = {
  bad_message:
    'the message is not JSON, or not one of the messages a client sends; a socket that sends more than a few of these is closed with 1008',
  already_authenticated:
    'an auth message on a socket that is already authenticated: a socket keeps its first tenant; open another socket for another key',
  not_found: "no such request for this tenant (also another tenant's id, or one that is not a uuid)",
  too_many_subscriptions: 'the socket follows as many requests as it may: open another socket',
  unavailable: 'the status could not be read right now: subscribe again shortly',
  rate_limited:
    "not handled, send it again a little later: either the socket sent more messages a second than it may (WS_MESSAGES_PER_SECOND; a socket that keeps flooding is closed with 4429), or the subscribe was over the API key's subscribe budget (WS_SUBSCRIBES_PER_MINUTE, shared by all its sockets; then it names the `requestId`)",
};

export const ErrorMessage = Type.Object({
  type: Type.Literal('error'),
  code: WsErrorCode,
  message: Type.String({ description: 'for people, not for matching' }),
  requestId: Type.Optional(Type.String({ description: 'the subscription the error is about, as the client sent it' })),
});

export type ClientMessage = Static<typeof AuthMessage> | Static<typeof SubscribeMessage> | Static<typeof UnsubscribeMessage>;
export type ServerMessage = Static<typeof AuthenticatedMessage> | Static<typeof StatusMessage> | Static<typeof ErrorMessage>;
