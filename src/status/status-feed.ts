import type { Redis } from 'ioredis';
import type { StatusEvent } from '../db/database.ts';
import { contextFromCarrier, withSyncSpan } from '../tracing/spans.ts';

/**
 * Wake-ups for status changes, fanned out to every API instance through Redis pub/sub.
 * A wake-up says "look again", never "this is the state": listeners read Postgres. After every
 * (re)connect all listeners are woken, so nothing published while the link was down is missed.
 */
export interface StatusFeed {
  /**
   * Calls `listener` on every event for the request until the returned function is called; with
   * the event, or with nothing after a reconnect (anything may have been missed).
   */
  watch(requestId: string, listener: (event?: StatusEvent) => void): () => void;
  /** how many requests have listeners, for metrics and tests */
  readonly watched: number;
  close(): Promise<void>;
}

export function statusChannel(prefix: string): string {
  return `${prefix}:status`;
}

/** Serialises a batch of events as one pub/sub message. */
export function encodeStatusEvents(events: StatusEvent[]): string {
  return JSON.stringify(events);
}

/**
 * Returns at once, also while Redis is away: the subscription is made whenever Redis answers, and
 * every listener is woken then. Until that, followers rely on their periodic reread.
 */
export function createStatusFeed(
  subscriber: Redis,
  channel: string,
  onError: (err: Error) => void,
  /** called with how many listeners each event woke (the push fan-out, for a metric) */
  onWake?: (listeners: number) => void,
): StatusFeed {
  const listeners = new Map<string, Set<(event?: StatusEvent) => void>>();
  const notify = (set: Set<(event?: StatusEvent) => void> | undefined, event?: StatusEvent) => {
    for (const listener of set ?? []) listener(event);
  };
  const notifyAll = () => {
    for (const set of listeners.values()) notify(set);
  };
  subscriber.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    let events: StatusEvent[];
    try {
      events = JSON.parse(message);
    } catch (err) {
      onError(new Error('malformed status message', { cause: err }));
      return;
    }
    for (const event of events) {
      const set = listeners.get(event.requestId);
      onWake?.(set?.size ?? 0);
      // the push continues the trace of the work that wrote the event (tracing on)
      if (set && event.trace) {
        const attributes = { 'idemq.request_id': event.requestId, 'idemq.status': event.status, 'idemq.followers': set.size };
        withSyncSpan('idemq.push', { parent: contextFromCarrier(event.trace), attributes }, () => notify(set, event));
      } else notify(set, event);
    }
  });
  // 'ready' follows every reconnect (ioredis resubscribes first): anything may have been missed
  let subscribed = false;
  let closed = false;
  subscriber.on('ready', () => {
    if (subscribed) notifyAll();
  });
  subscriber.on('error', onError);
  // listeners may have registered before the first subscription: they are woken once it holds
  subscriber.subscribe(channel).then(
    () => {
      subscribed = true;
      notifyAll();
    },
    (err: Error) => {
      if (!closed) onError(new Error('status feed not subscribed; followers fall back to rereading', { cause: err }));
    },
  );

  return {
    watch(requestId, listener) {
      let set = listeners.get(requestId);
      if (!set) listeners.set(requestId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(requestId) === set) listeners.delete(requestId);
      };
    },
    get watched() {
      return listeners.size;
    },
    async close() {
      closed = true;
      listeners.clear();
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
