import { fileURLToPath } from 'node:url';
import { type BenchContext, paymentPlan } from '../context.ts';
import type { E2eOptions, PushReport } from '../load/e2e-process.ts';
import { measurePoint, type Point, repeatIfContended } from '../measure.ts';
import { type LatencySummary, median, summarize } from '../stats.ts';
import { medianStages, scrapeStages, type StageQuantiles, stageQuantiles } from '../system/stage-sampler.ts';

const SCRIPT = fileURLToPath(new URL('../load/e2e-process.ts', import.meta.url));

export interface E2eRun {
  point: Point;
  /** 202 to the WebSocket push of the terminal status */
  push: LatencySummary;
  /** subscribe to the first message (the current state, read from Postgres) */
  firstMessage: LatencySummary;
  accepted: number;
  missing: number;
  errorMessages: Record<string, number>;
  socketsClosed: number;
  /** each stage's p50 and p99 over this run (the service's stage histograms, scraped before and after); absent if a scrape failed */
  stages?: Record<string, StageQuantiles>;
}

export interface E2eResult {
  rate: number;
  runs: E2eRun[];
  /** medians over the runs */
  pushP50: number;
  pushP99: number;
  missing: number;
  /** medians over the runs of each stage's p50 and p99 */
  stages?: Record<string, StageQuantiles>;
  error?: string;
}

/** Open-loop payments at `rate`; every 202 is followed over the WebSocket until its completion is pushed. */
export async function runE2e(ctx: BenchContext, rate: number): Promise<E2eResult> {
  const e = ctx.profile.e2e;
  const runs: E2eRun[] = [];
  try {
    for (let rep = 0; rep < e.reps; rep++) {
      let attempt = 0;
      const once = async (): Promise<E2eRun> => {
        const before = await scrapeStages(ctx.stageSources).catch((err: Error) => void ctx.log(`stage metrics not read: ${err.message}`));
        const options: E2eOptions = {
          url: `ws://${ctx.targets.service.host}:${ctx.targets.service.port}/v1/ws`,
          secret: ctx.secret,
          sockets: e.sockets,
          tailMs: 10_000,
        };
        const { point, load } = await measurePoint(ctx, {
          target: 'service',
          mode: { kind: 'rate', rate, durationMs: e.ms },
          plan: paymentPlan(ctx, `e2e-${rep}-${attempt++}`, { mode: 'fresh' }),
          connections: ctx.profile.ladder.connections,
          keepBodies: true,
          custom: { script: SCRIPT, options },
        });
        const push = load.extras[0] as PushReport;
        const after =
          before && (await scrapeStages(ctx.stageSources).catch((err: Error) => void ctx.log(`stage metrics not read: ${err.message}`)));
        return {
          ...(before && after && { stages: stageQuantiles(before, after) }),
          point,
          push: summarize(push.latencies),
          firstMessage: summarize(push.firstMessageMs),
          accepted: push.accepted,
          missing: push.missing,
          errorMessages: push.errorMessages,
          socketsClosed: push.socketsClosed,
        };
      };
      const { result: run } = await repeatIfContended(ctx, `e2e ${rate}/s`, once, (r) => r.point);
      runs.push(run);
      ctx.log(
        `e2e ${rate}/s: push after 202 p50 ${run.push.p50.toFixed(1)} p99 ${run.push.p99.toFixed(1)} ms; ${run.missing} of ${run.accepted} never pushed`,
      );
      if (run.stages)
        ctx.log(
          `e2e ${rate}/s by stage (p50/p99 ms): ${Object.entries(run.stages)
            .map(([s, q]) => `${s} ${q.p50.toFixed(1)}/${q.p99.toFixed(1)}`)
            .join(', ')}`,
        );
    }
  } catch (err) {
    return { rate, runs, pushP50: NaN, pushP99: NaN, missing: NaN, error: String((err as Error).message ?? err) };
  }
  return {
    rate,
    runs,
    pushP50: median(runs.map((r) => r.push.p50)),
    pushP99: median(runs.map((r) => r.push.p99)),
    missing: runs.reduce((a, r) => a + r.missing, 0),
    ...(runs.every((r) => r.stages) && { stages: medianStages(runs.map((r) => r.stages!)) }),
  };
}
