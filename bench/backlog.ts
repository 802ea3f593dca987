import type { Probe } from './probe.ts';
import { slope } from './stats.ts';

export interface BacklogReport {
  /** unfinished requests when the load started and when it stopped */
  start: number;
  end: number;
  /** growth of the backlog during the load, requests per second (least squares over the samples) */
  slopePerS: number;
  /** after the load: how long the workers took to finish everything, and what was left if they did not */
  drainMs: number;
  drained: boolean;
  left: number;
  /** completions per second while draining with no load (the workers' own pace) */
  drainRate: number;
}

/** Samples the backlog (unfinished requests, from Postgres) while a load runs. */
export function startBacklogSampler(probe: Probe, intervalMs = 500) {
  const t0 = Date.now();
  const samples: { s: number; n: number }[] = [];
  let busy = false;
  const take = async () => {
    if (busy) return;
    busy = true;
    try {
      samples.push({ s: (Date.now() - t0) / 1000, n: await probe.unfinished() });
    } finally {
      busy = false;
    }
  };
  const first = take();
  const timer = setInterval(() => void take().catch(() => undefined), intervalMs);
  return {
    /** Stops sampling at once (call it when the load ends); resolves with the backlog's course. */
    async stop(): Promise<{ samples: typeof samples; start: number; end: number; slopePerS: number }> {
      clearInterval(timer);
      await first;
      while (busy) await new Promise((r) => setTimeout(r, 10));
      // the first second is the pipeline filling up, not growth
      const steady = samples.filter((p) => p.s >= 1);
      return {
        samples,
        start: samples[0]?.n ?? NaN,
        end: samples.at(-1)?.n ?? NaN,
        slopePerS: slope((steady.length >= 3 ? steady : samples).map((p) => ({ x: p.s, y: p.n }))),
      };
    },
  };
}

/** Waits until nothing is unfinished, at most `maxMs`; reports the pace at which the backlog fell. */
export async function waitForDrain(
  probe: Probe,
  maxMs: number,
): Promise<{ drainMs: number; drained: boolean; left: number; drainRate: number }> {
  const t0 = Date.now();
  const first = await probe.unfinished();
  let left = first;
  while (left > 0 && Date.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 200));
    left = await probe.unfinished();
  }
  const drainMs = Date.now() - t0;
  return { drainMs, drained: left === 0, left, drainRate: drainMs > 0 ? ((first - left) / drainMs) * 1000 : NaN };
}
