import type { StatusEvent } from '../db/database.ts';
import { contextFromCarrier, withSyncSpan } from '../tracing/spans.ts';
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

/**
 * The StatusFeed of `listeners` on `subscriber`: `onClose` runs first (the feed stops reporting
 * errors), then the listeners are dropped and the connection is closed.
 */
export function statusFeedOf(
  listeners: ReturnType<typeof createStatusListeners>,
  subscriber: { quit(): Promise<unknown>; disconnect(): void },
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
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
