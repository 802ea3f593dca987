import type { Redis } from 'ioredis';
import type { StatusEvent } from '../db/database.ts';

/**
 * Wake-ups for status changes, fanned out to every API instance through Redis pub/sub.
 * A wake-up says "look again", never "this is the state": listeners read Postgres. After every
 * (re)connect all listeners are woken, so nothing published while the link was down is missed.
 */
export interface StatusFeed {
  /** Calls `listener` on every event for the request until the returned function is called. */
  watch(requestId: string, listener: () => void): () => void;
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

export async function createStatusFeed(
  subscriber: Redis,
  channel: string,
  onError: (err: Error) => void,
): Promise<StatusFeed> {
  const listeners = new Map<string, Set<() => void>>();
  const notify = (set: Set<() => void> | undefined) => {
    for (const listener of set ?? []) listener();
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
    for (const event of events) notify(listeners.get(event.requestId));
  });
  // 'ready' follows every reconnect (ioredis resubscribes first): anything may have been missed
  let connectedOnce = false;
  subscriber.on('ready', () => {
    if (!connectedOnce) return void (connectedOnce = true);
    for (const set of listeners.values()) notify(set);
  });
  subscriber.on('error', onError);
  await subscriber.subscribe(channel);
  connectedOnce = true;

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
      listeners.clear();
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
