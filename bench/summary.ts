import type { Point } from './measure.ts';
import { median } from './stats.ts';

/** The median of repeated runs of one load point; counts of failures are summed, not medianed. */
export interface PointSummary {
  offered: number | null;
  runs: number;
  achieved: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  answered: number;
  non2xx: number;
  errors: number;
  /** median percent of one core per class of process */
  cpu: Record<string, number>;
  generatorMaxWaiting: number;
}

export function summarizeRuns(points: readonly Point[]): PointSummary {
  const m = (f: (p: Point) => number) => median(points.map(f));
  const cpuKeys = new Set(points.flatMap((p) => Object.keys(p.cpu)));
  return {
    offered: points[0]?.offered ?? null,
    runs: points.length,
    achieved: m((p) => p.achieved),
    p50: m((p) => p.latency.p50),
    p90: m((p) => p.latency.p90),
    p99: m((p) => p.latency.p99),
    max: m((p) => p.latency.max),
    answered: points.reduce((a, p) => a + p.answered, 0),
    non2xx: points.reduce((a, p) => a + p.non2xx, 0),
    errors: points.reduce((a, p) => a + p.errors, 0),
    cpu: Object.fromEntries([...cpuKeys].map((k) => [k, m((p) => p.cpu[k] ?? 0)])),
    generatorMaxWaiting: Math.max(...points.map((p) => p.generator.maxWaiting)),
  };
}

export const P99_LIMIT_MS = 200;

/** Open-loop acceptance: everything answered 2xx, at the rate asked for, p99 under 200 ms. */
export function judgeAccept(s: PointSummary): string[] {
  const reasons: string[] = [];
  if (s.offered !== null && s.achieved < 0.95 * s.offered) reasons.push(`achieved ${s.achieved.toFixed(0)}/s < 95% of offered`);
  if (!(s.p99 < P99_LIMIT_MS)) reasons.push(`p99 ${s.p99.toFixed(0)} ms >= ${P99_LIMIT_MS} ms`);
  if (s.non2xx > 0) reasons.push(`${s.non2xx} non-2xx`);
  if (s.errors > 0) reasons.push(`${s.errors} errors`);
  return reasons;
}
