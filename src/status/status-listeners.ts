import type { StatusEvent } from '../db/database.ts';
import { contextFromCarrier, withSyncSpan } from '../tracing/spans.ts';
import { withTimeout } from '../with-timeout.ts';
import type { Listener, StatusFeed } from './status-feed.ts';

/**
 * The listeners of one API instance, by request id, and the dispatch of a pub/sub message to
 * them. Shared by the feed on one channel and the sharded one; `onFirst` / `onLast` say when a
 * request gains its first listener and loses its last (the sharded feed subscribes by them).
 */
export function createStatusListeners(opts: {
  onError: (err: Error) => void;
  onWake?: (listeners: number) => void;
  onFirst?: (requestId: string) => void;
  onLast?: (requestId: string) => void;
}) {
  const listeners = new Map<string, Set<Listener>>();
  const taps = new Set<{ onEvent: (event: StatusEvent) => void; onLink: (up: boolean) => void }>();
  let linked = false;
  const notify = (set: Set<Listener> | undefined, event?: StatusEvent) => {
    for (const listener of set ?? []) listener(event);
  };
  return {
    watch(requestId: string, listener: Listener): () => void {
      let set = listeners.get(requestId);
      if (!set) {
        listeners.set(requestId, (set = new Set()));
        opts.onFirst?.(requestId);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(requestId) === set) {
          listeners.delete(requestId);
          opts.onLast?.(requestId);
        }
      };
    },
    tap(onEvent: (event: StatusEvent) => void, onLink: (up: boolean) => void): () => void {
      const tap = { onEvent, onLink };
      taps.add(tap);
      if (linked) onLink(true);
      return () => void taps.delete(tap);
    },
    /** tells the taps that the link dropped (false) or that a subscription holds again (true) */
    link(up: boolean) {
      linked = up;
      for (const tap of taps) tap.onLink(up);
    },
    /** wakes the listeners of every request `which` selects (all by default), with no event */
    notifyAll(which: (requestId: string) => boolean = () => true) {
      for (const [requestId, set] of listeners) if (which(requestId)) notify(set);
    },
    /** wakes the listeners of each event of a message (encodeStatusEvents); a malformed one is reported */
    dispatch(message: string) {
      let events: StatusEvent[];
      try {
        events = JSON.parse(message) as StatusEvent[];
      } catch (err) {
        opts.onError(new Error('malformed status message', { cause: err }));
        return;
      }
      for (const event of events) {
        for (const tap of taps) tap.onEvent(event);
        const set = listeners.get(event.requestId);
        opts.onWake?.(set?.size ?? 0);
        // the push continues the trace of the work that wrote the event (tracing on)
        if (set && event.trace) {
          const attributes = { 'idemq.request_id': event.requestId, 'idemq.status': event.status, 'idemq.followers': set.size };
          withSyncSpan('idemq.push', { parent: contextFromCarrier(event.trace), attributes }, () => notify(set, event));
        } else notify(set, event);
      }
    },
    get watched() {
      return listeners.size;
    },
    get linked() {
      return linked;
    },
    clear() {
      listeners.clear();
      taps.clear();
    },
  };
}

/** how long close waits for Redis to answer QUIT before it drops the connection */
const QUIT_WAIT_MS = 1_000;

/**
 * The StatusFeed of `listeners` on `subscriber`: `onClose` runs first (the feed stops reporting
 * errors), then the listeners are dropped and the connection is closed: with QUIT while it is up,
 * else (or when QUIT is not answered within QUIT_WAIT_MS) by dropping it. Never waits for Redis to
 * come back: on a connection that is not up, ioredis would queue QUIT behind the SUBSCRIBE still
 * waiting there (Redis away since start) until a connection that may never come, and a graceful
 * shutdown would hang on it.
 */
export function statusFeedOf(
  listeners: ReturnType<typeof createStatusListeners>,
  subscriber: { readonly status: string; quit(): Promise<unknown>; disconnect(): void },
  hears: (requestId: string) => boolean,
  onClose: () => void,
): StatusFeed {
  return {
    watch: listeners.watch,
    tap: listeners.tap,
    hears,
    get watched() {
      return listeners.watched;
    },
    async close() {
      onClose();
      listeners.clear();
      if (subscriber.status !== 'ready') {
        subscriber.disconnect();
        return;
      }
      await withTimeout(subscriber.quit(), QUIT_WAIT_MS, 'status feed QUIT').catch(() => subscriber.disconnect());
    },
  };
}
