import type { Gauge, Registry } from 'prom-client';

const STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;

/**
 * prom-client's event-loop-delay gauges (collectDefaultMetrics) read a histogram it resets at
 * each scrape; a scrape that finds no sample since the last one (the first scrape, or two within
 * the 10 ms sampling resolution) would report min 9223372036.85 s (the empty histogram's
 * sentinel) and mean/stddev NaN. Such a scrape repeats the last sampled values instead (0 before
 * the first). Registered with `prefix`, as collectDefaultMetrics was.
 */
export function guardEventLoopLag(registry: Registry, prefix: string): void {
  const gauge = (suffix: string) =>
    registry.getSingleMetric(`${prefix}nodejs_eventloop_lag${suffix}_seconds`) as (Gauge & { collect?: () => unknown }) | undefined;
  // the plain lag gauge's collect sets all the others (prom-client's eventLoopLag.js)
  const carrier = gauge('');
  const stats = STATS.map((s) => gauge(`_${s}`));
  const original = carrier?.collect;
  if (!carrier || !original || stats.some((g) => !g)) return;
  let last = STATS.map(() => 0);
  // synchronous: the registry reads the other gauges right after this collect returns
  carrier.collect = function collect() {
    const read: number[] = [];
    const sets = stats.map((g) => g!.set);
    stats.forEach((g, i) => {
      g!.set = ((...args: unknown[]) => void (read[i] = Number(args.at(-1)))) as Gauge['set'];
    });
    try {
      original.call(this);
    } finally {
      stats.forEach((g, i) => (g!.set = sets[i]!));
    }
    const sampled = read.length === STATS.length && read.every(Number.isFinite) && read[0]! <= read[1]!;
    if (sampled) last = read;
    stats.forEach((g, i) => g!.set(last[i]!));
  };
}
