import type { WebSocket } from 'ws';
import type { RequestRow } from '../db/database.ts';
import { isUuid } from '../uuid.ts';
import { toRequestView } from '../idempotency/request-view.ts';
import { type FollowDeps, followRequest } from '../status/follow-request.ts';
import { createTokenBucket } from './token-bucket.ts';
import type { TenantSlots } from './tenant-slots.ts';
import type { ClientMessage, ServerMessage, WsErrorCode } from './ws-messages.ts';

export const WS_LIMITS = {
  /** per socket: a client following more should open another socket */
  maxSubscriptions: 1_000,
  /** unsent bytes above this mean the peer does not read: it is disconnected, memory stays bounded */
  maxBufferedBytes: 1024 * 1024,
  authTimeoutMs: 5_000,
  /** subscribes refused in a row (no pause at all) before the socket is closed as a flood */
  floodCloseAfter: 100,
};

/** Close codes in the 4000 range are the application's own (RFC 6455 7.4.2). */
export const CLOSE = { unauthorized: 4401, slowConsumer: 4408, subscribeFlood: 4429, tooManySockets: 4430, goingAway: 1001 } as const;

/** A status push, as WebSocket clients receive it: the request view plus the envelope. */
export function statusMessage(row: RequestRow): ServerMessage {
  return { type: 'status', requestId: row.id, version: row.version, ...toRequestView(row) };
}

/**
 * One WebSocket connection's protocol: authenticate (header on the upgrade, or a first `auth`
 * message), then follow any number of the tenant's requests. Messages take effect in the order
 * they arrive; the first tenant stays the socket's for its life. Every push is read from Postgres;
 * malformed messages get an error message and never throw. A socket holds one of its tenant's
 * `sockets` from authentication to close (none left: closed with 4430). Each subscribe may start a
 * Postgres read: beyond `subscribesPerSecond` (in bursts of a socket's whole subscription capacity)
 * one gets a `rate_limited` error and is not handled; a flood that never pauses is closed with 4429.
 */
export function runWsSession(
  socket: WebSocket,
  deps: FollowDeps & { tenantOf(secret: string): string | undefined; sockets: TenantSlots; subscribesPerSecond: number },
  initialTenant: string | undefined,
): void {
  let tenant: string | undefined;
  let releaseSlot: (() => void) | undefined;
  const subscribes = createTokenBucket(deps.subscribesPerSecond, WS_LIMITS.maxSubscriptions);
  const follows = new Map<string, AbortController>();
  const send = (message: ServerMessage) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > WS_LIMITS.maxBufferedBytes) return socket.close(CLOSE.slowConsumer, 'slow consumer');
    socket.send(JSON.stringify(message));
  };
  const error = (code: WsErrorCode, message: string, requestId?: string) => send({ type: 'error', code, message, ...(requestId ? { requestId } : {}) });

  /** Binds the socket to `t` if the tenant has a socket left; false after closing it otherwise. */
  const claim = (t: string): boolean => {
    releaseSlot = deps.sockets.acquire(t);
    if (!releaseSlot) {
      socket.close(CLOSE.tooManySockets, 'too many sockets for this api key');
      return false;
    }
    tenant = t;
    return true;
  };
  if (initialTenant) claim(initialTenant);
  const authTimer = initialTenant ? undefined : setTimeout(() => socket.close(CLOSE.unauthorized, 'authenticate first'), WS_LIMITS.authTimeoutMs);

  const subscribe = (requestId: string) => {
    if (!tenant) return error('unauthorized', 'Send {"type":"auth","token":"<api key>"} first.');
    if (follows.has(requestId)) return;
    if (follows.size >= WS_LIMITS.maxSubscriptions) return error('too_many_subscriptions', `At most ${WS_LIMITS.maxSubscriptions} per socket.`, requestId);
    if (!isUuid(requestId)) return error('not_found', 'No such request.', requestId);
    const controller = new AbortController();
    follows.set(requestId, controller);
    const live = () => !controller.signal.aborted;
    followRequest(deps, tenant, requestId, (row) => live() && send(statusMessage(row)), { signal: controller.signal })
      .then((row) => {
        if (!row && live()) error('not_found', 'No such request.', requestId);
      })
      .catch(() => live() && error('unavailable', 'Status is unavailable right now; subscribe again shortly.', requestId))
      .finally(() => {
        if (follows.get(requestId) === controller) follows.delete(requestId);
      });
  };
  // Removed at once, not when the follow winds down: a subscribe right behind must start a new one.
  const unsubscribe = (requestId: string) => {
    follows.get(requestId)?.abort();
    follows.delete(requestId);
  };

  socket.on('message', (data, isBinary) => {
    const msg = parseMessage(data.toString(), isBinary);
    if (msg === undefined) return error('bad_message', 'Messages are JSON objects.');
    if (msg?.type === 'auth' && typeof msg.token === 'string') {
      // a socket belongs to one tenant for its life: its subscriptions were checked against it
      if (tenant) return error('already_authenticated', 'This socket is already authenticated; open another socket for another key.');
      const t = deps.tenantOf(msg.token);
      if (!t) return socket.close(CLOSE.unauthorized, 'invalid api key');
      clearTimeout(authTimer);
      if (!claim(t)) return;
      return send({ type: 'authenticated' });
    }
    if (msg?.type === 'subscribe' && typeof msg.requestId === 'string') {
      if (subscribes.take()) return subscribe(msg.requestId);
      if (subscribes.refusedInARow >= WS_LIMITS.floodCloseAfter) return socket.close(CLOSE.subscribeFlood, 'too many subscribes');
      return error('rate_limited', `At most ${deps.subscribesPerSecond} subscribes a second; this one was not handled.`, msg.requestId);
    }
    if (msg?.type === 'unsubscribe' && typeof msg.requestId === 'string') return unsubscribe(msg.requestId);
    error('bad_message', 'Expected {"type":"subscribe"|"unsubscribe","requestId":"…"} or {"type":"auth","token":"…"}.');
  });
  socket.on('close', () => {
    clearTimeout(authTimer);
    releaseSlot?.();
    for (const controller of follows.values()) controller.abort();
    follows.clear();
  });
}

type Received = Partial<ClientMessage> & { type?: unknown; requestId?: unknown };

/** A message as JSON (binary frames as `{}`, which no message matches); undefined when it is not JSON. */
function parseMessage(text: string, isBinary: boolean): Received | undefined {
  if (isBinary) return {};
  try {
    return JSON.parse(text) ?? {};
  } catch {
    return undefined;
  }
}
