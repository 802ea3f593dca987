import Type, { type Static } from 'typebox';
import { RequestViewSchema } from './schemas.ts';

/** The WebSocket protocol's messages: the session's types come from them, and so does the AsyncAPI document. */

export const AuthMessage = Type.Object({
  type: Type.Literal('auth'),
  token: Type.String({ description: 'an API key; an invalid one closes the socket with 4401' }),
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
  Type.Literal('unauthorized'),
  Type.Literal('already_authenticated'),
  Type.Literal('not_found'),
  Type.Literal('too_many_subscriptions'),
  Type.Literal('unavailable'),
  Type.Literal('rate_limited'),
]);
export type WsErrorCode = Static<typeof WsErrorCode>;

/** What each error code tells the client, as the AsyncAPI document says it. */
export const WS_ERROR_MEANINGS: Record<WsErrorCode, string> = {
  bad_message: 'the message is not JSON, or not one of the messages a client sends',
  unauthorized: 'a subscription before authenticating',
  already_authenticated: 'an auth message on a socket that is already authenticated: a socket keeps its first tenant; open another socket for another key',
  not_found: 'no such request for this tenant (also another tenant\'s id, or one that is not a uuid)',
  too_many_subscriptions: 'the socket follows as many requests as it may: open another socket',
  unavailable: 'the status could not be read right now: subscribe again shortly',
  rate_limited: 'the socket sent more subscribes a second than it may (WS_SUBSCRIBES_PER_SECOND, in bursts of up to a socket\'s subscription capacity): this one was not handled; send it again a little later. A socket that keeps flooding is closed with 4429',
};

export const ErrorMessage = Type.Object({
  type: Type.Literal('error'),
  code: WsErrorCode,
  message: Type.String({ description: 'for people, not for matching' }),
  requestId: Type.Optional(Type.String({ description: 'the subscription the error is about, as the client sent it' })),
});

export type ClientMessage = Static<typeof AuthMessage> | Static<typeof SubscribeMessage> | Static<typeof UnsubscribeMessage>;
export type ServerMessage = Static<typeof AuthenticatedMessage> | Static<typeof StatusMessage> | Static<typeof ErrorMessage>;
