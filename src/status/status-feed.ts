import type { Redis } from 'ioredis';
import type { StatusEvent } from '../db/database.ts';
import { createStatusListeners, statusFeedOf } from './status-listeners.ts';

/**
 * Wake-ups for status changes, fanned out to the API instances through Redis pub/sub (one channel
 * on a standalone Redis; sharded channels on a cluster, see sharded-status-feed.ts).
 * A wake-up says "look again", never "this is the state": listeners read Postgres. After every
 * (re)connect all listeners are woken, so nothing published while the link was down is missed.
 */
export interface StatusFeed {
  /**
   * Calls `listener` on every event for the request until the returned function is called, with
   * the event (its version, for a reader on a replica; its timestamps, for the stage timings), or
   * with nothing after a reconnect: anything may have changed.
   */
  watch(requestId: string, listener: Listener): () => void;
  /**
   * Calls `onEvent` with every status event this instance receives, whichever request it names,
   * and `onLink(up)` when the link drops (false) and each time a subscription holds again (true;
   * at once if it holds now): events published while it was down are lost. On a cluster it hears
   * only the buckets `hears` asked for. Until the returned function is called.
   */
  tap(onEvent: (event: StatusEvent) => void, onLink: (up: boolean) => void): () => void;
  /**
   * Whether this instance receives the request's events now: the link holds and, on a cluster, the
   * subscription of its bucket, which this call asks for (kept from then on) if it was not held.
   */
  hears(requestId: string): boolean;
  /** how many requests have listeners, for metrics and tests */
  readonly watched: number;
  close(): Promise<void>;
}

export type Listener = (event?: StatusEvent) => void;

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
  const listeners = createStatusListeners({ onError, onWake });
  subscriber.on('message', (ch: string, message: string) => {
    if (ch === channel) listeners.dispatch(message);
  });
  // 'ready' follows every reconnect (ioredis resubscribes first): anything may have been missed
  let subscribed = false;
  let closed = false;
  subscriber.on('ready', () => {
    if (!subscribed) return;
    listeners.link(true);
    listeners.notifyAll();
  });
  subscriber.on('close', () => listeners.link(false));
  subscriber.on('error', onError);
  // listeners may have registered before the first subscription: they are woken once it holds
  subscriber.subscribe(channel).then(
    () => {
      subscribed = true;
      listeners.link(true);
      listeners.notifyAll();
    },
    (err: Error) => {
      if (!closed) onError(new Error('status feed not subscribed; followers fall back to rereading', { cause: err }));
    },
  );

  return statusFeedOf(
    listeners,
    subscriber,
    () => listeners.linked,
    () => {
      closed = true;
    },
  );
}
