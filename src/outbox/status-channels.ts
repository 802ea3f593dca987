import { bucketOf } from '../bucket-of.ts';

/** Where status events are published, and where the status feed (src/status/) listens for them. */

/** The one status channel of a standalone Redis: `<prefix>:status`. */
export function statusChannel(prefix: string): string {
  return `${prefix}:status`;
}

/**
 * Status events on a cluster go to one of this many channels, by request id. Each is hash-tagged
 * apart, so they spread over the slots (and masters); an API instance receives only the channels
 * of the requests it watches.
 */
export const STATUS_BUCKETS = 64;

/** The sharded channel of one bucket: `<prefix>:status:{<bucket>}`, whose slot the tag decides. */
export function statusBucketChannel(prefix: string, bucket: number): string {
  return `${prefix}:status:{${bucket}}`;
}

/** The bucket of a request's events on a cluster. */
export function statusBucketOf(requestId: string): number {
  return bucketOf(requestId, STATUS_BUCKETS);
}

/** The channel a request's events are published on, on a cluster. */
export function statusChannelOf(prefix: string, requestId: string): string {
  return statusBucketChannel(prefix, statusBucketOf(requestId));
}
