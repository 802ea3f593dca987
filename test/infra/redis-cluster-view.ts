import { Redis } from 'ioredis';

/** One row of CLUSTER SLOTS: first and last slot, then the master's [host, port, id], then its replicas. */
export type SlotRange = [number, number, [string, number, ...unknown[]], ...unknown[]];

/** What a test asks of a Redis Cluster it did not start: where keys and slots live now. */
export interface RedisClusterView {
  /** CLUSTER SLOTS, as the first node that answers sees it */
  slots(): Promise<SlotRange[]>;
  /** the port of the master that serves `slot` now */
  masterOf(slot: number): Promise<number>;
  /** ports of the masters now */
  masters(): Promise<number[]>;
  /** CLUSTER KEYSLOT of `key` */
  slotOf(key: string): Promise<number>;
}

/**
 * A view of the cluster whose nodes listen on `ports()` (loopback), asking the first that answers
 * on a connection of its own for each question; throws when none answers.
 */
export function redisClusterView(ports: () => number[]): RedisClusterView {
  const ask = async <T>(fn: (redis: Redis) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (const port of ports()) {
      const redis = new Redis({
        host: '127.0.0.1',
        port,
        protocol: 2,
        maxRetriesPerRequest: 0,
        lazyConnect: true,
        retryStrategy: () => null,
      });
      redis.on('error', () => undefined);
      try {
        await redis.connect();
        return await fn(redis);
      } catch (err) {
        last = err;
      } finally {
        redis.disconnect();
      }
    }
    throw new Error('no cluster node answers', { cause: last });
  };
  const slots = () => ask(async (r) => (await r.call('cluster', 'slots')) as SlotRange[]);
  return {
    slots,
    async masterOf(slot) {
      const range = (await slots()).find(([from, to]) => from <= slot && slot <= to);
      if (!range) throw new Error(`no master serves slot ${slot}`);
      return range[2][1];
    },
    masters: async () => [...new Set((await slots()).map((r) => r[2][1]))],
    slotOf: (key) => ask(async (r) => Number(await r.call('cluster', 'keyslot', key))),
  };
}
