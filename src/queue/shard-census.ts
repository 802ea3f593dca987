import { Gauge, type Registry } from 'prom-client';
import type { RedisClient } from '../redis.ts';

/** a process's entry counts for this long after its last report; reports come far more often */
const ALIVE_MS = 60_000;
export const SHARD_CENSUS_INTERVAL_MS = 10_000;

/**
 * Tells API instances and workers on the same Redis and QUEUE_PREFIX apart by QUEUE_SHARDS: with
 * different counts, an API puts jobs in shards no worker takes (or workers wait on shards no API
 * fills), and those jobs run only after the reconciler re-adds them. One Redis hash per queue
 * prefix (one key: a cluster holds it on one slot) maps each count in use to the time its last
 * report stays alive until. `report` records this process's count and resolves with the other
 * counts alive; it rejects when Redis does, and the caller decides what that means.
 */
export function createShardCensus(redis: RedisClient, prefix: string, shards: number) {
  const key = `${prefix}:queue-shards`;
  return {
    async report(): Promise<number[]> {
      const now = Date.now();
      await redis.hset(key, String(shards), String(now + ALIVE_MS));
      await redis.pexpire(key, ALIVE_MS * 2);
      const all = await redis.hgetall(key);
      return Object.entries(all)
        .filter(([count, until]) => Number(count) !== shards && Number(until) > now)
        .map(([count]) => Number(count))
        .sort((a, b) => a - b);
    },
  };
}

/**
 * A census's verdict for this process: `check` reports (createShardCensus), calls `warn` once each
 * time the set of other counts changes to a non-empty one, and resolves with the mismatch in a
 * phrase (undefined while all agree); it rejects when Redis does. `mismatched`: as of the last check.
 */
export function watchShardCensus(
  census: ReturnType<typeof createShardCensus>,
  shards: number,
  warn: (others: number[], message: string) => void,
) {
  let last = '';
  return {
    async check(): Promise<string | undefined> {
      const others = await census.report();
      const seen = others.join(',');
      if (seen && seen !== last) warn(others, shardMismatch(shards, others));
      last = seen;
      return seen ? `QUEUE_SHARDS differs: ${shards} here, ${seen} elsewhere` : undefined;
    },
    get mismatched() {
      return last !== '';
    },
  };
}

/** The warning for a census that found other counts (see createShardCensus), in words. */
export const shardMismatch = (shards: number, others: readonly number[]) =>
  `QUEUE_SHARDS is ${shards} here but ${others.join(', ')} in another API instance or worker on the same Redis and QUEUE_PREFIX: jobs go to shards nobody takes and wait for the reconciler; set one QUEUE_SHARDS everywhere`;

/** `<prefix>queue_shards_mismatch`: 1 while the last census found another QUEUE_SHARDS in use, else 0. */
export function shardMismatchGauge(registry: Registry, name: string, mismatched: () => boolean): void {
  new Gauge({
    name,
    help: '1 while another API instance or worker on the same Redis and QUEUE_PREFIX runs with a different QUEUE_SHARDS (its jobs wait for the reconciler)',
    registers: [registry],
    collect() {
      this.set(mismatched() ? 1 : 0);
    },
  });
}
