import type { Point } from '../measure.ts';
import type { BenchResults } from '../results.ts';
import { median } from '../stats.ts';

/** Every measured load point of a run, by scenario. */
export function pointsByScenario(r: Omit<BenchResults, 'meta' | 'targets'>): Record<string, Point[]> {
  const capacity = (c: NonNullable<BenchResults['baseline']> | undefined) => (c ? [c.saturation, ...c.steps.flatMap((s) => s.runs)] : []);
  const out: Record<string, Point[]> = {
    'bare route': capacity(r.baseline),
    ingest: capacity(r.ingest),
    replay: r.replay ? [r.replay.firstRequests, ...capacity(r.replay)] : [],
    '10k connections': r.connections ? [...r.connections.service.runs, ...r.connections.baseline.runs].map((x) => x.point) : [],
    storm: (r.storm ?? []).flatMap((v) => v.runs.map((x) => x.point)),
    e2e: r.e2e?.runs.map((x) => x.point) ?? [],
    gateway: r.gateway ? [r.gateway.direct, r.gateway.forwarded].flatMap((s) => [s.saturation, s.open]) : [],
    memory: r.memory ? [r.memory.point] : [],
  };
  for (const k of Object.keys(out)) if (out[k]!.length === 0) delete out[k];
  return out;
}

/** Cores used by processes that are not this run's (other engineers' tests), median per scenario. */
export function foreignCoresByScenario(r: Omit<BenchResults, 'meta' | 'targets'>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(pointsByScenario(r)).map(([k, points]) => [k, median(points.map((p) => (p.cpu.foreign ?? 0) / 100))]),
  );
}
