import type { Point } from '../measure.ts';
import type { BenchResults } from '../results.ts';
import type { Capacity } from '../scenarios/capacity.ts';
import { outcomes } from '../scenarios/gateway.ts';
import type { PointSummary } from '../summary.ts';

/** One line of the results table, shared by the console and docs/benchmarks.md. */
export interface Row {
  scenario: string;
  load: string;
  offered: number | null;
  achieved: number | null;
  runs: number;
  /** non-2xx answers plus requests without an answer */
  failed: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  vsBare: string;
  verdict: string;
  /** cores other processes (other engineers' tests) used meanwhile, median */
  foreign: number;
}

const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-');

function fromPoint(scenario: string, load: string, p: Point, vsBare: string, verdict = ''): Row {
  return {
    scenario,
    load,
    offered: p.offered,
    achieved: p.achieved,
    runs: 1,
    failed: p.non2xx + p.errors,
    p50: p.latency.p50,
    p90: p.latency.p90,
    p99: p.latency.p99,
    max: p.latency.max,
    vsBare,
    verdict,
    foreign: (p.cpu.foreign ?? 0) / 100,
  };
}

function fromSummary(scenario: string, load: string, s: PointSummary, vsBare: string, verdict: string): Row {
  return {
    scenario,
    load,
    offered: s.offered,
    achieved: s.achieved,
    runs: s.runs,
    failed: s.non2xx + s.errors,
    p50: s.p50,
    p90: s.p90,
    p99: s.p99,
    max: s.max,
    vsBare,
    verdict,
    foreign: (s.cpu.foreign ?? 0) / 100,
  };
}

function capacityRows(name: string, c: Capacity, bare: Capacity | undefined): Row[] {
  const rows = [
    fromPoint(
      name,
      `closed, ${c.saturation.connections} conn`,
      c.saturation,
      x(c.saturation.achieved / (bare?.saturation.achieved ?? NaN)),
    ),
  ];
  for (const s of c.steps) {
    const verdict = s.reasons.length ? 'not sustained' : s.backlogReasons.length ? 'accepted; backlog grew' : 'sustained';
    rows.push(fromSummary(name, 'open loop', s.summary, x(s.summary.achieved / (bare?.sustained ?? NaN)), verdict));
  }
  return rows;
}

export function resultRows(r: BenchResults): Row[] {
  const rows: Row[] = [];
  if (r.baseline) rows.push(...capacityRows('bare route', r.baseline, r.baseline));
  if (r.ingest) rows.push(...capacityRows('ingest', r.ingest, r.baseline));
  if (r.naive) rows.push(...capacityRows('ingest, naive path', r.naive, r.baseline));
  if (r.replay) {
    rows.push(fromPoint('replay', `first requests, burst of ${r.replay.keys}`, r.replay.firstRequests, '-'));
    rows.push(...capacityRows('replay', r.replay, r.baseline));
  }
  if (r.connections) {
    const c = r.connections;
    const ratio = c.service.summary.p99 / c.baseline.summary.p99;
    rows.push(
      fromSummary(
        '10k connections',
        `${c.connections} conn`,
        c.service.summary,
        `p99 ${x(ratio)}`,
        c.service.reasons.length ? 'p99/rate missed' : 'p99 < 200 ms',
      ),
    );
    rows.push(fromSummary('10k connections (bare)', `${c.connections} conn`, c.baseline.summary, '1.00x', ''));
  }
  for (const v of r.storm ?? []) {
    for (const target of ['service', 'baseline'] as const) {
      const runs = v.runs.filter((run) => run.target === target);
      const p = runs[0]?.point;
      if (!p) continue;
      const ms = target === 'service' ? v.serviceMs : v.baselineMs;
      rows.push({
        ...fromPoint(
          `storm ${v.keys}x${v.retriesPerKey}${target === 'baseline' ? ' (bare)' : ''}`,
          `burst, ${p.connections} conn, ${ms.toFixed(0)} ms`,
          p,
          target === 'service' ? `time ${x(v.ratio)}` : '1.00x',
        ),
        runs: runs.length,
        verdict: target === 'service' ? (v.oneEffect ? 'one effect per key' : 'EFFECTS WRONG') : '',
      });
    }
  }
  if (r.e2e?.runs.length) {
    const run = r.e2e.runs[Math.floor(r.e2e.runs.length / 2)]!;
    rows.push(fromPoint('e2e: POST', 'open loop', run.point, '-'));
    rows.push({
      scenario: 'e2e: 202 -> push',
      load: 'WebSocket',
      offered: r.e2e.rate,
      achieved: null,
      runs: r.e2e.runs.length,
      failed: r.e2e.missing,
      p50: r.e2e.pushP50,
      p90: run.push.p90,
      p99: r.e2e.pushP99,
      max: run.push.max,
      vsBare: '-',
      verdict: r.e2e.pushP99 < 100 ? 'p99 < 100 ms' : 'p99 >= 100 ms',
      foreign: (run.point.cpu.foreign ?? 0) / 100,
    });
  }
  if (r.gateway) {
    const g = r.gateway;
    const terminal = (p: Point) => `${outcomes(p)} outcomes`;
    rows.push(fromPoint('gateway: upstream direct', `closed, ${g.direct.saturation.connections} conn`, g.direct.saturation, '-'));
    rows.push({
      ...fromPoint(
        'gateway: forwarded',
        `closed, ${g.forwarded.saturation.connections} conn`,
        g.forwarded.saturation,
        '-',
        terminal(g.forwarded.saturation),
      ),
      achieved: g.forwarded.throughput,
    });
    rows.push(fromPoint('gateway: upstream direct', 'open loop', g.direct.open, '-'));
    rows.push(
      fromPoint(
        'gateway: forwarded',
        'open loop',
        g.forwarded.open,
        '-',
        `${terminal(g.forwarded.open)}; +${g.added.p50.toFixed(1)} / +${g.added.p99.toFixed(1)} ms p50/p99`,
      ),
    );
  }
  if (r.memory)
    rows.push(
      fromPoint(
        'memory run',
        `${(r.memory.point.elapsedMs / 60000).toFixed(1)} min`,
        r.memory.point,
        '-',
        r.memory.flat ? 'RSS flat' : 'RSS grew',
      ),
    );
  return rows;
}
