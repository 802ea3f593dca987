/** The base name of the request queue; shard 0 keeps it, so a deployment that adds shards still drains its old jobs. */
export const REQUEST_QUEUE = 'requests';

/** Enough to spread the queue over the masters of a large cluster; each shard is one more BullMQ queue to poll. */
export const MAX_QUEUE_SHARDS = 16;

/**
 * The BullMQ queue names of the request queue's `shards`: `requests`, `requests-1`, … In a cluster
 * each name is a hash tag (`{requests-1}`): every key BullMQ makes for one shard
 * (`<prefix>:{requests-1}:wait`, …) lands in one slot, as its scripts require, and the shards
 * land in different slots, so they spread over the masters.
 */
export function shardQueueNames(shards: number, cluster: boolean): string[] {
  return Array.from({ length: shards }, (_, i) => {
    const name = i === 0 ? REQUEST_QUEUE : `${REQUEST_QUEUE}-${i}`;
    return cluster ? `{${name}}` : name;
  });
}
