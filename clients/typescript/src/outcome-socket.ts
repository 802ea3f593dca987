import { NotFound, PROBLEM_BASE, Unauthorized } from './errors.ts';
import type { RequestView } from './types.ts';

/**
 * What the client needs of a WebSocket: the browser's and Node's global one both fit. The handlers
 * take `any` so that the platforms' own event types (MessageEvent, CloseEvent) are accepted; the
 * client reads `data` of a message and `code` of a close.
 */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}
export type SocketConstructor = new (url: string) => SocketLike;

export interface SocketOptions {
  /** a socket not authenticated after this long is given up (a hanging peer) and counts as a failure */
  connectTimeoutMs: number;
  /** consecutive sockets that fail before authenticating after which waiters also long-poll */
  failuresBeforeFallback: number;
  /** reconnects back off with full jitter from this, doubling per failure up to `maxReconnectDelayMs` */
  baseReconnectDelayMs: number;
  maxReconnectDelayMs: number;
  /** the socket stays open this long after its last subscription ends, for the next one */
  lingerMs: number;
  /**
   * After this long without a message while requests are followed, the client asks for one (it
   * subscribes a request afresh, which the server answers at once); no answer within
   * `connectTimeoutMs` means the connection died silently (a NAT or proxy forgot it): it reconnects.
   */
  probeIdleMs: number;
  /**
   * A subscribe the service refused as over its rate (`rate_limited`) is sent again after a backoff
   * (from `baseReconnectDelayMs`, doubling, with jitter, up to `maxReconnectDelayMs`), up to this many
   * times; then the waiters follow the request by long-polling as well. A wait never fails for it.
   */
  rateLimitedRetries: number;
}

export const DEFAULT_SOCKET_OPTIONS: SocketOptions = Object.freeze({
  connectTimeoutMs: 10_000,
  failuresBeforeFallback: 3,
  baseReconnectDelayMs: 250,
  maxReconnectDelayMs: 5_000,
  lingerMs: 5_000,
  probeIdleMs: 25_000,
  rateLimitedRetries: 6,
});

/** The service's limit of subscriptions per socket; past it waiters long-poll. */
const MAX_SUBSCRIPTIONS = 1_000;
const CLOSE_UNAUTHORIZED = 4401;

export interface Watch {
  /** each new state of the request, in version order, never one twice */
  onStatus(view: RequestView): void;
  /** the request cannot be followed here: not found, or the key is refused */
  onError(err: Error): void;
  /** the socket cannot be relied on for now (it failed repeatedly, or is full): follow the request another way too */
  onDegraded(): void;
}

export interface OutcomeSocket {
  /** Follows a request over the shared socket, opening it when needed; returns the function that stops. */
  watch(requestId: string, watch: Watch): () => void;
  /** sockets opened so far */
  readonly connections: number;
  close(): void;
}

/**
 * One WebSocket per client, shared by every waiter: authenticates with an `auth` message, waits
 * for `authenticated`, then subscribes each followed request; after a drop it reconnects with
 * backoff and subscribes them all again (the server answers each with the current state, so
 * nothing missed meanwhile is lost). Pushes are deduplicated by `version`.
 */
export function createOutcomeSocket(url: string, apiKey: string, Socket: SocketConstructor, options: SocketOptions): OutcomeSocket {
  const watches = new Map<string, Set<Watch>>();
  const latest = new Map<string, { version: number; view: RequestView }>();
  /** subscribes refused `rate_limited` in a row, by request */
  const limited = new Map<string, number>();
  let socket: SocketLike | undefined;
  let ready = false;
  let failures = 0;
  let connections = 0;
  let closed = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let lingerTimer: ReturnType<typeof setTimeout> | undefined;
  let connectTimer: ReturnType<typeof setTimeout> | undefined;
  let probeTimer: ReturnType<typeof setTimeout> | undefined;
  let lastHeard = 0;

  const send = (message: object) => socket?.send(JSON.stringify(message));
  const each = (requestId: string, fn: (w: Watch) => void) => {
    for (const w of [...(watches.get(requestId) ?? [])]) fn(w);
  };

  function connect(): void {
    if (socket || closed || reconnectTimer) return;
    const ws = new Socket(url);
    socket = ws;
    ready = false;
    connections++;
    connectTimer = setTimeout(() => abandon(ws), options.connectTimeoutMs);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: apiKey }));
    ws.onmessage = (event: { data: unknown }) => ws === socket && receive(event.data);
    ws.onerror = () => undefined; // a close event follows, and handles it
    ws.onclose = (event: { code: number }) => ws === socket && onClosed(event.code);
  }

  /** Gives a socket up without waiting for its close handshake, which a dead peer never completes. */
  function abandon(ws: SocketLike): void {
    if (ws !== socket) return;
    ws.close(); // its close event, whenever it comes, is ignored: it is no longer `socket`
    onClosed(1006, true);
  }

  function probeLater(ws: SocketLike, afterMs = options.probeIdleMs): void {
    clearTimeout(probeTimer);
    probeTimer = setTimeout(() => probe(ws), afterMs);
    unref(probeTimer);
  }

  function probe(ws: SocketLike): void {
    if (ws !== socket || !ready) return;
    const idle = Date.now() - lastHeard;
    const requestId = watches.keys().next().value;
    if (requestId === undefined) return probeLater(ws); // nothing followed: nothing to ask, and the linger closes it
    if (idle < options.probeIdleMs) return probeLater(ws, options.probeIdleMs - idle);
    const asked = Date.now();
    // a fresh subscription is answered at once with the current state, which dedupe then drops
    send({ type: 'unsubscribe', requestId });
    send({ type: 'subscribe', requestId });
    probeTimer = setTimeout(() => (lastHeard >= asked ? probeLater(ws) : abandon(ws)), options.connectTimeoutMs);
    unref(probeTimer);
  }

  function receive(data: unknown): void {
    lastHeard = Date.now();
    let msg: { type?: unknown; requestId?: unknown; version?: unknown; code?: unknown; message?: unknown };
    try {
      msg = JSON.parse(String(data));
    } catch {
      return; // not the protocol: nothing to act on, and the socket's other messages still count
    }
    if (msg?.type === 'authenticated') {
      ready = true;
      failures = 0;
      clearTimeout(connectTimer);
      if (socket) probeLater(socket);
      for (const requestId of watches.keys()) send({ type: 'subscribe', requestId });
      return;
    }
    const requestId = typeof msg?.requestId === 'string' ? msg.requestId : undefined;
    if (!requestId || !watches.has(requestId)) return;
    if (msg.type === 'status' && typeof msg.version === 'number') {
      limited.delete(requestId);
      if (msg.version <= (latest.get(requestId)?.version ?? 0)) return;
      const { type: _type, requestId: _id, version, ...view } = msg as RequestView & { type: string; requestId: string; version: number };
      latest.set(requestId, { version, view });
      each(requestId, (w) => w.onStatus(view));
    } else if (msg.type === 'error' && msg.code === 'not_found') {
      const detail = typeof msg.message === 'string' ? msg.message : undefined;
      const err = new NotFound({ type: `${PROBLEM_BASE}not-found`, title: 'Not found', status: 404, ...(detail ? { detail } : {}) });
      each(requestId, (w) => w.onError(err));
    } else if (msg.type === 'error' && msg.code === 'unavailable') {
      // the server could not read the status for now: ask again a little later
      const ws = socket;
      setTimeout(() => ws === socket && ready && watches.has(requestId) && send({ type: 'subscribe', requestId }), jitter(failures + 1));
    } else if (msg.type === 'error' && msg.code === 'rate_limited') {
      resubscribeLater(requestId);
    } else if (msg.type === 'error') {
      each(requestId, (w) => w.onDegraded());
    }
  }

  /** Sends a refused subscribe again after a backoff; past `rateLimitedRetries`, its waiters long-poll as well. */
  function resubscribeLater(requestId: string): void {
    const refused = (limited.get(requestId) ?? 0) + 1;
    limited.set(requestId, refused);
    if (refused > options.rateLimitedRetries) return each(requestId, (w) => w.onDegraded());
    const ws = socket;
    // at least half the backoff: retries spread out, and never come straight back into the same spent budget
    const ceiling = Math.min(options.maxReconnectDelayMs, options.baseReconnectDelayMs * 2 ** refused);
    const timer = setTimeout(
      () => ws === socket && ready && watches.has(requestId) && send({ type: 'subscribe', requestId }),
      ceiling / 2 + Math.random() * (ceiling / 2),
    );
    unref(timer);
  }

  /** `failed`: the socket never got as far as authenticating, or died silently. */
  function onClosed(code: number, failed = !ready): void {
    clearTimeout(connectTimer);
    clearTimeout(probeTimer);
    socket = undefined;
    ready = false;
    if (code === CLOSE_UNAUTHORIZED) {
      const err = new Unauthorized({
        type: `${PROBLEM_BASE}unauthorized`,
        title: 'Unauthorized',
        status: 401,
        detail: 'The WebSocket refused the API key (4401).',
      });
      for (const requestId of [...watches.keys()]) each(requestId, (w) => w.onError(err));
      return;
    }
    if (failed) failures++;
    if (failures >= options.failuresBeforeFallback) for (const requestId of watches.keys()) each(requestId, (w) => w.onDegraded());
    if (watches.size > 0 && !closed) {
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined;
        if (watches.size > 0) connect();
      }, jitter(failures));
    }
  }

  function jitter(n: number): number {
    return Math.floor(Math.random() * Math.min(options.maxReconnectDelayMs, options.baseReconnectDelayMs * 2 ** n));
  }

  function unwatch(requestId: string, w: Watch): void {
    const set = watches.get(requestId);
    if (!set?.delete(w) || set.size > 0) return;
    watches.delete(requestId);
    latest.delete(requestId);
    limited.delete(requestId);
    if (ready) send({ type: 'unsubscribe', requestId });
    if (watches.size === 0 && socket) {
      lingerTimer = setTimeout(() => {
        if (watches.size === 0) socket?.close(1000, 'idle');
      }, options.lingerMs);
      unref(lingerTimer);
    }
  }

  return {
    watch(requestId, w) {
      if (closed) {
        w.onDegraded();
        return () => undefined;
      }
      clearTimeout(lingerTimer);
      let set = watches.get(requestId);
      if (!set && watches.size >= MAX_SUBSCRIPTIONS) {
        w.onDegraded();
        return () => undefined;
      }
      if (!set) {
        set = new Set();
        watches.set(requestId, set);
        if (ready) send({ type: 'subscribe', requestId });
      }
      set.add(w);
      const known = latest.get(requestId);
      if (known) queueMicrotask(() => set.has(w) && w.onStatus(known.view));
      if (failures >= options.failuresBeforeFallback) queueMicrotask(() => w.onDegraded());
      connect();
      return () => unwatch(requestId, w);
    },
    get connections() {
      return connections;
    },
    close() {
      closed = true;
      clearTimeout(reconnectTimer);
      clearTimeout(lingerTimer);
      clearTimeout(connectTimer);
      clearTimeout(probeTimer);
      const ws = socket;
      socket = undefined;
      ws?.close(1000, 'client closed');
    },
  };
}

/** In Node, an idle socket's timer need not keep the process alive; browsers have no such notion. */
function unref(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}
