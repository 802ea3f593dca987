import type { BacklogReport } from '../backlog.ts';
import type { BenchContext, TargetName } from '../context.ts';
import type { RequestPlan } from '../load/request-plan.ts';
import { CONTENDED_CORES, measurePoint, type Point, repeatIfContended } from '../measure.ts';
import { judgeAccept, type PointSummary, summarizeRuns } from '../summary.ts';
import type { StageQuantiles } from '../system/stage-sampler.ts';

export interface LadderStep {
  offered: number;
  summary: PointSummary;
  /** why the point is not sustained (accept criteria: rate, p99, errors); empty when it is */
  reasons: string[];
  /** why the workers did not keep up (backlog criteria, ingest only); empty when they did */
  backlogReasons: string[];
  runs: Point[];
  /** the median run shared the machine with other processes using more than CONTENDED_CORES */
  contended: boolean;
  /** runs measured again because other processes used more than CONTENDED_CORES during them */
  repeated: number;
  /** ingest only: the backlog of every run */
  backlog?: BacklogReport[];
  /** ingest only: the service's stage timings of every run (its requests, until drained), when the scrapes worked */
  stages?: Record<string, StageQuantiles>[];
}

export interface Capacity {
  target: TargetName;
  /** closed loop, as fast as answers come back */
  saturation: Point;
  /** in the order measured: the grid, then the refinements */
  steps: LadderStep[];
  /** the highest offered rate whose median run met the accept criteria; null when none did */
  sustained: number | null;
  /** the same, also requiring the backlog to stay flat (accepted = completed) */
  sustainedWithBacklog: number | null;
}

type Hooks = { onRun(): void; onDone(): void };

export interface CapacityOptions {
  target: TargetName;
  /** a plan per load, so no two loads share fresh keys */
  plan(label: string): RequestPlan;
  /** offered rates to try besides the fractions of the saturation throughput */
  extraRates?(saturation: Point): Promise<number[]> | number[];
  /** wraps every ladder run to watch the backlog; a reason says why the workers fell behind */
  around?(
    run: (hooks: Hooks) => Promise<Point>,
  ): Promise<{ point: Point; backlog: BacklogReport; reason?: string; stages?: Record<string, StageQuantiles> }>;
}

/** Rates closer than this ratio are measured once; refinement stops at this resolution too. */
const RESOLUTION = 1.07;

const accepted = (s: LadderStep) => s.reasons.length === 0;
const endToEnd = (s: LadderStep) => s.reasons.length === 0 && s.backlogReasons.length === 0;

/**
 * Finds the highest rate a target sustains: a closed-loop saturation run sizes the ladder, then an
 * open-loop point per offered rate (fractions of saturation, plus any extra rates) climbing until
 * the accept criteria first fail, then a few bisections between the highest sustained point and
 * the lowest failed one. Every point is repeated and judged on its median run.
 */
export async function measureCapacity(ctx: BenchContext, o: CapacityOptions): Promise<Capacity> {
  const p = ctx.profile;
  const saturation = await measureSaturation(ctx, o.target, o.plan('saturation'));
  ctx.log(
    `${o.target}: saturation ${saturation.achieved.toFixed(0)}/s at ${p.saturation.connections} connections, p99 ${saturation.latency.p99.toFixed(1)} ms`,
  );
  const grid = [...p.ladder.fractions.map((f) => f * saturation.achieved), ...((await o.extraRates?.(saturation)) ?? [])]
    .map((r) => Math.max(10, Math.round(r)))
    .sort((a, b) => a - b)
    .filter((r, i, all) => i === 0 || r > all[i - 1]! * RESOLUTION);
  const steps: LadderStep[] = [];
  const step = (offered: number) => measureStep(ctx, o, offered).then((s) => (steps.push(s), s));
  let failures = 0;
  for (const offered of grid) {
    const s = await step(offered);
    failures = accepted(s) ? 0 : failures + 1;
    // a failure under contention may be the neighbours' doing: climb on, unless it happens twice running
    if (failures > 0 && (!s.contended || failures > 1)) break;
  }
  for (const criterion of o.around ? [accepted, endToEnd] : [accepted]) {
    for (let i = 0; i < p.ladder.refinements; i++) {
      const lo = Math.max(0, ...steps.filter(criterion).map((s) => s.offered));
      const hi = Math.min(...steps.filter((s) => !criterion(s) && s.offered > lo).map((s) => s.offered));
      if (!Number.isFinite(hi) && !p.ladder.probeAbove) break;
      // nothing failed yet: look a little higher; nothing passed: a little lower
      const next = !Number.isFinite(hi) ? lo * 1.2 : lo === 0 ? hi / 2 : Math.sqrt(lo * hi);
      if (Number.isFinite(hi) && lo > 0 && hi / lo < RESOLUTION) break;
      if (steps.some((s) => Math.abs(s.offered / Math.round(next) - 1) < 0.02)) break;
      await step(Math.round(next));
    }
  }
  const highest = (ok: (s: LadderStep) => boolean) => {
    const rates = steps.filter(ok).map((s) => s.offered);
    return rates.length ? Math.max(...rates) : null;
  };
  return {
    target: o.target,
    saturation,
    steps: steps.sort((a, b) => a.offered - b.offered),
    sustained: highest(accepted),
    sustainedWithBacklog: o.around ? highest(endToEnd) : null,
  };
}

/** A closed loop at the profile's saturation connections: as fast as answers come back. */
export async function measureSaturation(ctx: BenchContext, target: TargetName, plan: RequestPlan): Promise<Point> {
  const { point } = await measurePoint(ctx, {
    target,
    mode: { kind: 'closed', durationMs: ctx.profile.saturation.ms },
    plan,
    connections: ctx.profile.saturation.connections,
  });
  return point;
}

async function measureStep(ctx: BenchContext, o: CapacityOptions, offered: number): Promise<LadderStep> {
  const p = ctx.profile;
  const runs: Point[] = [];
  const backlog: BacklogReport[] = [];
  const stages: Record<string, StageQuantiles>[] = [];
  const behind: string[] = [];
  let repeated = 0;
  for (let rep = 0; rep < p.ladder.reps; rep++) {
    let attempt = 0;
    const run = (hooks: Hooks) =>
      measurePoint(ctx, {
        target: o.target,
        mode: { kind: 'rate', rate: offered, durationMs: p.ladder.ms },
        // a repeated run gets keys of its own: the first run's keys would be replays
        plan: o.plan(`r${offered}-${rep}-${attempt++}`),
        connections: p.ladder.connections,
        ...hooks,
      }).then((m) => m.point);
    const once = async (): Promise<{ point: Point; backlog?: BacklogReport; reason?: string; stages?: Record<string, StageQuantiles> }> =>
      o.around ? o.around(run) : { point: await run({ onRun() {}, onDone() {} }) };
    const { result: r, repeated: again } = await repeatIfContended(ctx, `${o.target}: ${offered}/s run ${rep + 1}`, once, (x) => x.point);
    if (again) repeated++;
    runs.push(r.point);
    if (r.backlog) backlog.push(r.backlog);
    if (r.stages) stages.push(r.stages);
    if (r.reason) behind.push(`run ${rep + 1}: ${r.reason}`);
  }
  const summary = summarizeRuns(runs);
  const reasons = judgeAccept(summary);
  // like the other criteria, judged on the median: it fails only if most runs failed it
  const backlogReasons = behind.length > p.ladder.reps / 2 ? behind : [];
  const all = [...reasons, ...backlogReasons];
  const contended = (summary.cpu.foreign ?? 0) / 100 > CONTENDED_CORES;
  ctx.log(
    `${o.target}: ${offered}/s offered -> ${summary.achieved.toFixed(0)}/s, p50 ${summary.p50.toFixed(1)} p99 ${summary.p99.toFixed(1)} ms` +
      (all.length ? `  NOT sustained: ${all.join('; ')}` : '  sustained') +
      (contended ? ` (contended: other processes used ${((summary.cpu.foreign ?? 0) / 100).toFixed(2)} cores)` : ''),
  );
  return {
    offered,
    summary,
    reasons,
    backlogReasons,
    runs,
    contended,
    repeated,
    ...(backlog.length ? { backlog } : {}),
    ...(stages.length ? { stages } : {}),
  };
}
