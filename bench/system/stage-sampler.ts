import { STAGE_METRICS } from '../../src/stage-histogram.ts';
import { median } from '../stats.ts';

/** Where the stage histograms are scraped: the API's admin /metrics and each worker's, both behind the admin token. */
export interface StageSources {
  api: { url: string; token: string };
  workers: string[];
}

/** Cumulative bucket counts by stage, then by upper bound (seconds, +Inf as Infinity), summed over the processes. */
export type StageBuckets = Map<string, Map<number, number>>;

export interface StageQuantiles {
  /** requests (pushes for the push stages) counted in the interval */
  count: number;
  /** milliseconds, interpolated within the bucket as Prometheus's histogram_quantile does */
  p50: number;
  p99: number;
}

const LINE = new RegExp(`^(?:${STAGE_METRICS.api}|${STAGE_METRICS.worker})_bucket\\{([^}]*)\\} (\\S+)$`, 'gm');

function parse(text: string, into: StageBuckets): void {
  for (const [, labels, value] of text.matchAll(LINE)) {
    const stage = /stage="([^"]+)"/.exec(labels!)?.[1];
    const le = /le="([^"]+)"/.exec(labels!)?.[1];
    if (!stage || !le) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    const buckets = into.get(stage) ?? new Map<number, number>();
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(value));
    into.set(stage, buckets);
  }
}

/** One scrape of every source; a source that does not answer in 2 s makes the whole read fail. */
export async function scrapeStages(sources: StageSources): Promise<StageBuckets> {
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(2_000) });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    return res.text();
  };
  const auth = { authorization: `Bearer ${sources.api.token}` };
  const texts = await Promise.all([get(sources.api.url, auth), ...sources.workers.map((u) => get(u, auth))]);
  const buckets: StageBuckets = new Map();
  for (const text of texts) parse(text, buckets);
  return buckets;
}

function quantile(q: number, bounds: [number, number][]): number {
  const total = bounds.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of bounds) {
    if (count >= rank) {
      // above the last finite bucket there is nothing to interpolate to: its lower edge is reported
      if (bound === Infinity) return prevBound * 1000;
      return (prevBound + (bound - prevBound) * ((rank - prevCount) / Math.max(1e-9, count - prevCount))) * 1000;
    }
    prevBound = bound;
    prevCount = count;
  }
  return NaN;
}

/** p50 and p99 of each stage over what was counted between two scrapes. */
export function stageQuantiles(before: StageBuckets, after: StageBuckets): Record<string, StageQuantiles> {
  const out: Record<string, StageQuantiles> = {};
  for (const [stage, buckets] of after) {
    const deltas = [...buckets]
      .map(([bound, count]): [number, number] => [bound, count - (before.get(stage)?.get(bound) ?? 0)])
      .sort((a, b) => a[0] - b[0]);
    out[stage] = { count: deltas.at(-1)?.[1] ?? 0, p50: quantile(0.5, deltas), p99: quantile(0.99, deltas) };
  }
  return out;
}

/** Each stage's count, p50 and p99: the median over runs of one load point. */
export function medianStages(runs: readonly Record<string, StageQuantiles>[]): Record<string, StageQuantiles> {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  const of = (name: string, k: keyof StageQuantiles) => median(runs.map((r) => r[name]?.[k] ?? NaN));
  return Object.fromEntries(names.map((n) => [n, { count: of(n, 'count'), p50: of(n, 'p50'), p99: of(n, 'p99') }]));
}
