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
  /**
   * messages refused over the socket's rate within `floodWindowMs` before the socket is closed as a
   * flood: a client a little too fast gets a few refusals and backs off; a flood gets these at once
   */
  floodCloseAfter: 100,
  floodWindowMs: 10_000,
  /** bad messages (not JSON, unknown, a second `auth`) answered within `badWindowMs`; the next one closes the socket */
  maxBadMessages: 10,
  badWindowMs: 60_000,
};

/** Close codes in the 4000 range are the application's own (RFC 6455 7.4.2). */
export const CLOSE = {
  policyViolation: 1008,
  unauthorized: 4401,
  slowConsumer: 4408,
  messageFlood: 4429,
  tooManySockets: 4430,
  goingAway: 1001,
} as const;

/** A status push, as WebSocket clients receive it: the request view plus the envelope. */
export function statusMessage(row: RequestRow): ServerMessage {
  return { type: 'status', requestId: row.id, version: row.version, ...toRequestView(row) };
}

export interface WsSessionDeps extends FollowDeps {
  tenantOf(secret: string): string | undefined;
  sockets: TenantSlots;
  /** every message of an authenticated socket counts against this, in bursts of as many */
  messagesPerSecond: number;
  /** Draws one subscribe (one look-up) from the tenant's shared budget; false over it. Never rejects. */
  subscribeAllowed(tenantId: string): Promise<boolean>;
}

/**
 * One WebSocket connection's protocol: authenticate (header on the upgrade, or a first `auth`
 * message), then follow any number of the tenant's requests. Messages take effect in the order
 * they arrive; the first tenant stays the socket's for its life. Every push is read from Postgres;
 * malformed messages get an error message and never throw. A socket holds one of its tenant's
 * `sockets` from authentication to close (none left: closed with 4430).
 *
 * What a socket may cost: before authentication one message is taken, and it must be `auth`
 * (anything else closes with 1008). After it every message counts against `messagesPerSecond`: one
 * over it is not handled and is answered `rate_limited`, and a flood that never pauses is closed
 * with 4429. More than `maxBadMessages` bad ones within `badWindowMs` close it with 1008. Each
 * subscribe that may read Postgres draws on the tenant's subscribe budget, shared by all its
 * sockets and instances: over it, `rate_limited` and not handled.
 */
export function runWsSession(socket: WebSocket, deps: WsSessionDeps, initialTenant: string | undefined): void {
  let tenant: string | undefined;
  let releaseSlot: (() => void) | undefined;
  const meter = createTokenBucket(deps.messagesPerSecond, deps.messagesPerSecond);
  const refusals = createTokenBucket(WS_LIMITS.floodCloseAfter / (WS_LIMITS.floodWindowMs / 1000), WS_LIMITS.floodCloseAfter);
  const badAllowance = createTokenBucket(WS_LIMITS.maxBadMessages / (WS_LIMITS.badWindowMs / 1000), WS_LIMITS.maxBadMessages);
  const follows = new Map<string, AbortController>();
  const send = (message: ServerMessage) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > WS_LIMITS.maxBufferedBytes) return socket.close(CLOSE.slowConsumer, 'slow consumer');
    socket.send(JSON.stringify(message));
  };
  const error = (code: WsErrorCode, message: string, requestId?: string) =>
    send({ type: 'error', code, message, ...(requestId ? { requestId } : {}) });
  const bad = (code: WsErrorCode, message: string) => {
    if (!badAllowance.take()) return socket.close(CLOSE.policyViolation, 'too many bad messages');
    error(code, message);
  };

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
  const authTimer = initialTenant
    ? undefined
    : setTimeout(() => socket.close(CLOSE.unauthorized, 'authenticate first'), WS_LIMITS.authTimeoutMs);

  const authenticate = (msg: Received | undefined) => {
    if (msg?.type !== 'auth' || typeof msg.token !== 'string') return socket.close(CLOSE.policyViolation, 'authenticate first');
    const t = deps.tenantOf(msg.token);
    if (!t) return socket.close(CLOSE.unauthorized, 'invalid api key');
    clearTimeout(authTimer);
    if (!claim(t)) return;
    send({ type: 'authenticated' });
  };

  const subscribe = (t: string, requestId: string) => {
    if (follows.has(requestId)) return;
    if (follows.size >= WS_LIMITS.maxSubscriptions)
      return error('too_many_subscriptions', `At most ${WS_LIMITS.maxSubscriptions} per socket.`, requestId);
    if (!isUuid(requestId)) return error('not_found', 'No such request.', requestId);
    // registered before the budget answers, so an unsubscribe right behind still cancels it
    const controller = new AbortController();
    follows.set(requestId, controller);
    const live = () => !controller.signal.aborted;
    deps
      .subscribeAllowed(t)
      .then(async (allowed) => {
        if (!live()) return;
        if (!allowed) {
          controller.abort();
          return error(
            'rate_limited',
            "This API key's subscribe budget is spent for now; this one was not handled: send it again a little later.",
            requestId,
          );
        }
        const row = await followRequest(deps, t, requestId, (r) => live() && send(statusMessage(r)), { signal: controller.signal });
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
    // a socket being closed takes nothing more, however much is still in flight
    if (socket.readyState !== socket.OPEN) return;
    const msg = parseMessage(data.toString(), isBinary);
    if (!tenant) return authenticate(msg);
    if (!meter.take()) {
      if (!refusals.take()) return socket.close(CLOSE.messageFlood, 'too many messages');
      const requestId = typeof msg?.requestId === 'string' ? msg.requestId : undefined;
      return error('rate_limited', `At most ${deps.messagesPerSecond} messages a second on a socket; this one was not handled.`, requestId);
    }
    if (msg === undefined) return bad('bad_message', 'Messages are JSON objects.');
    if (msg.type === 'subscribe' && typeof msg.requestId === 'string') return subscribe(tenant, msg.requestId);
    if (msg.type === 'unsubscribe' && typeof msg.requestId === 'string') return unsubscribe(msg.requestId);
    // a socket belongs to one tenant for its life: its subscriptions were checked against it
    if (msg.type === 'auth')
      return bad('already_authenticated', 'This socket is already authenticated; open another socket for another key.');
    bad('bad_message', 'Expected {"type":"subscribe"|"unsubscribe","requestId":"…"} or {"type":"auth","token":"…"}.');
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
