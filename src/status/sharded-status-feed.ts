import type { Cluster } from 'ioredis';
import { STATUS_BUCKETS, statusBucketChannel, statusBucketOf } from '../outbox/status-channels.ts';
import type { StatusFeed } from './status-feed.ts';
import { createStatusListeners, statusFeedOf } from './status-listeners.ts';

/** the least time between two rounds of resubscribing (and waking) after topology changes */
const RESUBSCRIBE_GAP_MS = 1_000;

/**
 * The status feed on a Redis Cluster, with sharded pub/sub: SSUBSCRIBE to a bucket's channel while
 * at least one watched request falls in it, SUNSUBSCRIBE when the last leaves. Same guarantees as
 * the feed on one channel: listeners are woken once their bucket's subscription holds, and all of
 * them after every (re)subscription that follows a reconnect or a slot moving to another node
 * (a failover), since anything published meanwhile may have been missed.
 */
export function createShardedStatusFeed(
  subscriber: Cluster,
  prefix: string,
  onError: (err: Error) => void,
  onWake?: (listeners: number) => void,
): StatusFeed {
  /** watched requests per bucket */
  const buckets = new Map<number, number>();
  const channels = new Map<string, number>();
  /** buckets whose last subscription failed */
  const unheard = new Set<number>();
  /** buckets whose subscription holds */
  const heard = new Set<number>();
  /** buckets a tap asked for (hears): held for good */
  const tapped = new Set<number>();
  let closed = false;
  const subscribe = (bucket: number) =>
    subscriber.ssubscribe(statusBucketChannel(prefix, bucket)).then(
      () => {
        unheard.delete(bucket);
        heard.add(bucket);
        listeners.link(unheard.size === 0);
        listeners.notifyAll((id) => statusBucketOf(id) === bucket);
      },
      (err: Error) => {
        // this bucket's events are not heard: a tap must not trust what it holds
        unheard.add(bucket);
        heard.delete(bucket);
        listeners.link(false);
        if (!closed) onError(new Error('status feed not subscribed; followers fall back to rereading', { cause: err }));
      },
    );
  const hold = (bucket: number) => {
    const n = buckets.get(bucket) ?? 0;
    buckets.set(bucket, n + 1);
    if (n === 0) void subscribe(bucket);
  };
  const release = (bucket: number) => {
    const n = buckets.get(bucket)! - 1;
    if (n > 0) return void buckets.set(bucket, n);
    buckets.delete(bucket);
    heard.delete(bucket);
    if (!closed) subscriber.sunsubscribe(statusBucketChannel(prefix, bucket)).catch(onError);
  };
  const listeners = createStatusListeners({
    onError,
    onWake,
    onFirst: (requestId) => hold(statusBucketOf(requestId)),
    onLast: (requestId) => release(statusBucketOf(requestId)),
  });
  const hears = (requestId: string) => {
    const bucket = statusBucketOf(requestId);
    if (tapped.has(bucket)) return listeners.linked && heard.has(bucket);
    tapped.add(bucket);
    hold(bucket);
    return false;
  };
  for (let bucket = 0; bucket < STATUS_BUCKETS; bucket++) channels.set(statusBucketChannel(prefix, bucket), bucket);
  subscriber.on('smessage', (channel: string, message: string) => {
    const bucket = channels.get(channel);
    if (bucket !== undefined && buckets.has(bucket)) listeners.dispatch(message);
  });
  // ioredis resubscribes on the new subscriber connections, then says so; subscribing again here
  // wakes each bucket's listeners only once its subscription holds again. A failover brings a
  // burst of these (one per slot map refresh): they are coalesced, so a listener is woken about
  // once per RESUBSCRIBE_GAP_MS, not once per refresh.
  let resubscribing = false;
  let again = false;
  const resubscribeAll = async () => {
    if (resubscribing) return void (again = true);
    resubscribing = true;
    try {
      do {
        again = false;
        await Promise.all([...buckets.keys()].map(subscribe));
        await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_GAP_MS).unref());
      } while (again && !closed);
    } finally {
      resubscribing = false;
    }
  };
  subscriber.on('subscribersReady', () => void resubscribeAll());
  // a subscriber connection lost, or a node gone: its buckets' events are lost until resubscribed
  const lost = () => {
    heard.clear();
    listeners.link(false);
  };
  subscriber.on('close', lost);
  subscriber.on('-node', lost);
  subscriber.on('error', onError);
  return statusFeedOf(listeners, subscriber, hears, () => {
    closed = true;
  });
}
