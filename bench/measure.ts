import type { BenchContext, TargetName } from './context.ts';
import type { LoadMode } from './load/http-load.ts';
import type { RequestPlan } from './load/request-plan.ts';
import { type MergedLoad, runLoadProcesses } from './load/run-load.ts';
import { type LatencySummary, summarize } from './stats.ts';
import { type CpuReport, startCpuMeter } from './system/cpu-meter.ts';

/** The run's own processes by pid; generator processes are the harness's other children. */
export function ownProcess(ctx: BenchContext, pid: number, ppid: number): string | undefined {
  if (pid === ctx.pids.api) return 'api';
  if (ctx.pids.workers.includes(pid)) return 'workers';
  if (pid === ctx.pids.baseline) return 'baseline';
  if (ctx.pids.naive?.includes(pid)) return 'naive';
  if (pid === ctx.pids.upstream) return 'upstream';
  if (pid === process.pid) return 'harness';
  if (ppid === process.pid) return 'generator';
  return undefined;
}

export interface PointOptions {
  target: TargetName;
  mode: LoadMode;
  plan: RequestPlan;
  connections: number;
  wave?: number;
  processes?: number;
  keepBodies?: boolean;
  timeoutMs?: number;
  /** a specialised generator script (see run-load.ts) and its options */
  custom?: { script: string; options: unknown };
  /** called when the load starts and when it has ended (before generators exit) */
  onRun?(): void;
  onDone?(): void;
}

/** One measured load point, as every table row and chart point is made of. */
export interface Point {
  target: TargetName;
  mode: LoadMode['kind'];
  /** req/s asked for (open loop only) */
  offered: number | null;
  connections: number;
  processes: number;
  elapsedMs: number;
  sent: number;
  answered: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** 2xx answers per second over max(elapsed, scheduled duration) */
  achieved: number;
  latency: LatencySummary;
  status: Record<string, number>;
  errorDetail: MergedLoad['errors'];
  /** percent of one core per class of process (see cpu-meter.ts), and busy cores machine-wide */
  cpu: Record<string, number> & { machineBusyCores: number };
  generator: { cpuPct: number[]; loopDelayP99Ms: number; maxWaiting: number };
}

function targetOf(ctx: BenchContext, name: TargetName) {
  const target = ctx.targets[name];
  if (!target) throw new Error(`target ${name} is not running`);
  return target;
}

export async function measurePoint(ctx: BenchContext, o: PointOptions): Promise<{ point: Point; load: MergedLoad }> {
  const processes = o.processes ?? 1;
  let meter: ReturnType<typeof startCpuMeter> | undefined;
  let cpu: CpuReport | undefined;
  const load = await runLoadProcesses(
    {
      target: targetOf(ctx, o.target),
      connections: o.connections,
      wave: o.wave ?? 500,
      mode: o.mode,
      plan: o.plan,
      shard: { index: 0, count: 1 },
      keepBodies: o.keepBodies ?? false,
      timeoutMs: o.timeoutMs ?? 10_000,
    },
    processes,
    {
      onRun() {
        meter = startCpuMeter({
          mine: (pid, ppid) => ownProcess(ctx, pid, ppid),
          database: ctx.database,
          ...(ctx.databases ? { databases: ctx.databases } : {}),
        });
        o.onRun?.();
      },
      onDone() {
        cpu = meter?.stop();
        o.onDone?.();
      },
    },
    o.custom,
  );
  const ok = Object.entries(load.status).reduce((a, [code, n]) => a + (code.startsWith('2') ? n : 0), 0);
  const scheduledMs = o.mode.kind === 'burst' ? 0 : o.mode.durationMs;
  const point: Point = {
    target: o.target,
    mode: o.mode.kind,
    offered: o.mode.kind === 'rate' ? o.mode.rate : null,
    connections: load.ramp?.opened ?? o.connections,
    processes,
    elapsedMs: load.elapsedMs,
    sent: load.sent,
    answered: load.answered,
    ok,
    non2xx: load.answered - ok,
    errors: load.errors.timeout + load.errors.reset + load.errors.unsent + load.errors.reconnectFailed,
    achieved: ok / (Math.max(load.elapsedMs, scheduledMs) / 1000),
    latency: summarize(load.latencies),
    status: load.status,
    errorDetail: load.errors,
    cpu: { ...cpu?.groups, machineBusyCores: cpu?.machineBusyCores ?? NaN },
    generator: {
      cpuPct: load.generators.map((g) => g.cpuPct),
      loopDelayP99Ms: Math.max(...load.generators.map((g) => g.loopDelayP99Ms)),
      maxWaiting: Math.max(...load.generators.map((g) => g.maxWaiting)),
    },
  };
  return { point, load };
}

/** Cores used by other processes (other engineers' tests) above which a run is measured again, once. */
export const CONTENDED_CORES = 0.5;

export const foreignCores = (p: Point) => (p.cpu.foreign ?? 0) / 100;

/**
 * Runs a measurement, and once more if other processes took more than CONTENDED_CORES meanwhile:
 * contention on two shared cores comes in bursts, and a second try often misses them. The second
 * result stands either way; `repeated` says it happened.
 */
export async function repeatIfContended<T>(
  ctx: BenchContext,
  label: string,
  run: () => Promise<T>,
  pointOf: (t: T) => Point,
): Promise<{ result: T; repeated: boolean }> {
  const first = await run();
  const foreign = foreignCores(pointOf(first));
  if (foreign <= CONTENDED_CORES || !ctx.profile.repeatContended) return { result: first, repeated: false };
  ctx.log(`${label}: other processes used ${foreign.toFixed(2)} cores; measuring it again`);
  return { result: await run(), repeated: true };
}
