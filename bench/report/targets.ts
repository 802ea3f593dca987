import type { BenchResults } from '../results.ts';
import { FLAT_MB_PER_MIN } from '../scenarios/memory.ts';

/** One performance target, as measured: met, missed, or not measured in this run (null). */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
  note: string;
}

const pct = (r: number) => `${(r * 100).toFixed(0)}%`;
const perS = (r: number | null | undefined) => (r === null || r === undefined || Number.isNaN(r) ? 'none' : `${Math.round(r)}/s`);

/** Judges each performance target against the bare route measured in the same run. */
export function checkTargets(r: Omit<BenchResults, 'targets' | 'meta'>): TargetCheck[] {
  const out: TargetCheck[] = [];
  const bare = r.baseline?.sustained ?? null;
  const bareSat = r.baseline?.saturation.achieved;
  const notMeasured = (target: string, why: string) => out.push({ target, measured: 'not measured', met: null, note: why });
  const ratioTo = (v: number | null | undefined) => (v && bare ? v / bare : NaN);
  /** the same figure for the naive path measured in this run, and how many times faster the service is */
  const naiveNote = (ours: number | null, naive: number | null | undefined) =>
    naive === undefined
      ? ''
      : `; naive path in this run: ${perS(naive)} = ${pct(ratioTo(naive))}, so ${ours && naive ? (ours / naive).toFixed(1) : '?'}x the naive path`;

  const t1 = 'Accept rate of new payments, workers running: >= 35% of the bare route';
  if (r.ingest && bare) {
    const ratio = ratioTo(r.ingest.sustained);
    const sat = r.ingest.saturation.achieved / (bareSat ?? NaN);
    out.push({
      target: t1,
      measured: `${perS(r.ingest.sustained)} vs ${perS(bare)} sustained (p99 < 200 ms): ${pct(ratio)}`,
      met: ratio >= 0.35,
      note: `closed loop at 100 connections: ${perS(r.ingest.saturation.achieved)} vs ${perS(bareSat)} = ${pct(sat)}${naiveNote(r.ingest.sustained, r.naive?.sustained)}`,
    });
  } else notMeasured(t1, 'needs the baseline and ingest scenarios');

  const t2 = 'Sustained end to end (accepted = completed, backlog flat, payments moved): >= 20% of the bare route';
  if (r.ingest && bare) {
    const ratio = ratioTo(r.ingest.sustainedWithBacklog);
    out.push({
      target: t2,
      measured: `${perS(r.ingest.sustainedWithBacklog)} vs ${perS(bare)}: ${pct(ratio)}`,
      met: ratio >= 0.2 && r.ingest.ledger.ok,
      note: `workers drained a backlog at ${perS(r.ingest.workerDrainRate)}${naiveNote(r.ingest.sustainedWithBacklog, r.naive?.sustainedWithBacklog)}; ledger ${r.ingest.ledger.ok ? 'balanced, one payment per succeeded request' : `WRONG: ${r.ingest.ledger.problems.join('; ')}`}`,
    });
  } else notMeasured(t2, 'needs the baseline and ingest scenarios');

  const t3 = 'Replays of completed keys: >= 70% of the bare route';
  if (r.replay && bare) {
    const ratio = ratioTo(r.replay.sustained);
    out.push({
      target: t3,
      measured: `${perS(r.replay.sustained)} vs ${perS(bare)}: ${pct(ratio)}`,
      met: ratio >= 0.7 && r.replay.effects.ok,
      note: `closed loop: ${perS(r.replay.saturation.achieved)} vs ${perS(bareSat)} = ${pct(r.replay.saturation.achieved / (bareSat ?? NaN))}; first requests ${perS(r.ingest?.sustained)}`,
    });
  } else notMeasured(t3, 'needs the baseline and replay scenarios');

  const t4 = 'p99 < 200 ms with 10,000 open connections at half the sustained rate';
  if (r.connections) {
    const s = r.connections.service;
    out.push({
      target: t4,
      measured: `p99 ${s.summary.p99.toFixed(1)} ms at ${perS(r.connections.rate)} over ${r.connections.connections} connections (bare: ${r.connections.baseline.summary.p99.toFixed(1)} ms)`,
      met: s.reasons.length === 0,
      note: s.reasons.join('; ') || 'all answered 2xx at the offered rate',
    });
  } else notMeasured(t4, 'connections scenario not run');

  for (const v of r.storm ?? []) {
    out.push({
      target: `Retry storm ${v.keys} key${v.keys > 1 ? 's' : ''} x ${v.retriesPerKey}: burst answered in <= 2x the bare route's time, one effect`,
      measured: `${v.serviceMs.toFixed(0)} ms vs ${v.baselineMs.toFixed(0)} ms: ${v.ratio.toFixed(2)}x`,
      met: v.ratio <= 2 && v.oneEffect,
      note: v.oneEffect ? 'one request id per key in every answer, one payment per key' : 'EFFECTS WRONG: see storm runs',
    });
  }
  if (!r.storm?.length) notMeasured('Retry storm: <= 2x the bare route, one effect', 'storm scenario not run');

  const t6 = 'End-to-end completion push p99 < 100 ms at half the sustained rate';
  if (r.e2e && !r.e2e.error) {
    out.push({
      target: t6,
      measured: `p99 ${r.e2e.pushP99.toFixed(1)} ms (p50 ${r.e2e.pushP50.toFixed(1)}) at ${perS(r.e2e.rate)}`,
      met: r.e2e.pushP99 < 100 && r.e2e.missing === 0,
      note: r.e2e.missing ? `${r.e2e.missing} completions never pushed` : 'every accepted request pushed',
    });
  } else notMeasured(t6, r.e2e?.error ?? 'e2e scenario not run');

  const t7 = 'API memory flat over a 5-minute run';
  if (r.memory) {
    const a = r.memory.api;
    out.push({
      target: t7,
      measured: `RSS ${a.startMb.toFixed(0)} -> ${a.endMb.toFixed(0)} MB, max ${a.maxMb.toFixed(0)}, ${a.slopeMbPerMin.toFixed(2)} MB/min after ${a.warmupS} s`,
      met: r.memory.flat,
      note:
        `${r.memory.flat ? 'flat' : 'not flat'} (flat means < ${FLAT_MB_PER_MIN} MB/min after the warm-up) over ${(a.seconds / 60).toFixed(1)} min at ${perS(r.memory.rate)}` +
        (r.memory.heap
          ? `; lowest V8 heap used per minute ${r.memory.heap.floorsMb.join(', ')} MB, ${r.memory.heap.watchedAtEnd} watched requests at the end`
          : ''),
    });
  } else notMeasured(t7, 'the 5-minute run is part of the full form only');
  return out;
}
