import { startBacklogSampler } from '../backlog.ts';
import { type BenchContext, paymentPlan } from '../context.ts';
import { measurePoint, type Point } from '../measure.ts';
import { slope } from '../stats.ts';
import { type HeapSample, startHeapSampler } from '../system/metrics-sampler.ts';
import { startRssSampler } from '../system/rss-sampler.ts';

/** RSS growth below this, over the second half of the run, counts as flat. */
export const FLAT_MB_PER_MIN = 1;
/** V8 grows its heap for the first minute or two of a steady load; runs shorter than twice this are judged whole */
const MIN_WARMUP_S = 60;

export interface RssTrend {
  seconds: number;
  startMb: number;
  endMb: number;
  maxMb: number;
  /** least-squares slope after the warm-up: the second half of the run (the whole series if it is short) */
  slopeMbPerMin: number;
  warmupS: number;
  /** one sample every few seconds, for the record */
  samples: { s: number; mb: number }[];
}

export interface MemoryResult {
  rate: number;
  point: Point;
  api: RssTrend;
  workers: RssTrend[];
  /** the API's V8 heap from its /metrics; `floorsMb`: the lowest heap used of each minute */
  heap: { samples: HeapSample[]; floorSlopeMbPerMin: number; floorsMb: number[]; watchedAtEnd: number } | null;
  backlog: { start: number; end: number; slopePerS: number };
  flat: boolean;
}

export function rssTrend(samples: { s: number; mb: number }[]): RssTrend {
  const last = samples.at(-1)?.s ?? 0;
  const warmupS = Math.max(MIN_WARMUP_S, last / 2);
  const steady = last >= 2 * MIN_WARMUP_S ? samples.filter((p) => p.s >= warmupS) : samples;
  const every = Math.max(1, Math.floor(samples.length / 120));
  return {
    seconds: last,
    startMb: samples[0]?.mb ?? NaN,
    endMb: samples.at(-1)?.mb ?? NaN,
    maxMb: Math.max(...samples.map((p) => p.mb)),
    slopeMbPerMin: slope(steady.map((p) => ({ x: p.s, y: p.mb }))) * 60,
    warmupS: steady === samples ? 0 : Math.round(warmupS),
    samples: samples.filter((_, i) => i % every === 0).map((p) => ({ s: Math.round(p.s), mb: Math.round(p.mb * 10) / 10 })),
  };
}

/** A long open-loop ingest at `rate`, the API's (and workers') RSS read from /proc every second. */
export async function runMemory(ctx: BenchContext, rate: number, durationMs: number): Promise<MemoryResult> {
  const api = startRssSampler(ctx.pids.api, 1_000);
  const workers = ctx.pids.workers.map((pid) => startRssSampler(pid, 1_000));
  const heap = startHeapSampler(ctx.targets.service, 5_000);
  let backlog: ReturnType<typeof startBacklogSampler> | undefined;
  let backlogDone: ReturnType<ReturnType<typeof startBacklogSampler>['stop']> | undefined;
  const { point } = await measurePoint(ctx, {
    target: 'service',
    mode: { kind: 'rate', rate, durationMs },
    plan: paymentPlan(ctx, 'memory', { mode: 'fresh' }),
    connections: ctx.profile.ladder.connections,
    onRun: () => void (backlog = startBacklogSampler(ctx.probe, 2_000)),
    onDone: () => void (backlogDone = backlog?.stop()),
  });
  const apiTrend = rssTrend(api.stop());
  const b = await backlogDone!;
  const heapSamples = await heap.stop();
  // heap used is a sawtooth; its floor in each minute (what survived the collections) shows a leak, its peaks do not
  const floors: HeapSample[] = [];
  for (const h of heapSamples) {
    const minute = Math.floor(h.s / 60);
    const at = floors.findIndex((f) => Math.floor(f.s / 60) === minute);
    if (at < 0) floors.push(h);
    else if (h.heapUsedMb < floors[at]!.heapUsedMb) floors[at] = h;
  }
  const result: MemoryResult = {
    rate,
    point,
    api: apiTrend,
    workers: workers.map((w) => rssTrend(w.stop())),
    heap: heapSamples.length
      ? {
          samples: heapSamples.map((h) => ({
            ...h,
            heapUsedMb: Math.round(h.heapUsedMb),
            heapTotalMb: Math.round(h.heapTotalMb),
            externalMb: Math.round(h.externalMb),
          })),
          floorSlopeMbPerMin: slope(floors.map((h) => ({ x: h.s, y: h.heapUsedMb }))) * 60,
          floorsMb: floors.map((h) => Math.round(h.heapUsedMb)),
          watchedAtEnd: heapSamples.at(-1)!.watched,
        }
      : null,
    backlog: { start: b.start, end: b.end, slopePerS: b.slopePerS },
    flat: apiTrend.slopeMbPerMin < FLAT_MB_PER_MIN,
  };
  ctx.log(
    `memory ${rate}/s for ${durationMs / 1000} s: API RSS ${apiTrend.startMb.toFixed(0)} -> ${apiTrend.endMb.toFixed(0)} MB ` +
      `(max ${apiTrend.maxMb.toFixed(0)}), ${apiTrend.slopeMbPerMin.toFixed(2)} MB/min after ${apiTrend.warmupS} s` +
      (result.heap ? `; lowest heap used per minute ${result.heap.floorsMb.join(', ')} MB` : '; no /metrics'),
  );
  return result;
}
