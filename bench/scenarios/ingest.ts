import { OPENING_BALANCE } from '../accounts.ts';
import { type BacklogReport, startBacklogSampler, waitForDrain } from '../backlog.ts';
import { type BenchContext, paymentPlan, type TargetName } from '../context.ts';
import type { Probe } from '../probe.ts';
import { scrapeStages, stageQuantiles } from '../system/stage-sampler.ts';
import { type Capacity, measureCapacity } from './capacity.ts';

export interface IngestResult extends Capacity {
  /** completions per second while the workers drained the saturation run's backlog with no load */
  workerDrainRate: number;
  ledger: Awaited<ReturnType<Probe['ledger']>> & { ok: boolean; problems: string[] };
  /** Postgres transactions (API statements outside a transaction count one each) per payment request, over the scenario */
  transactionsPerRequest: number;
}

/**
 * The workers fall behind when the backlog grows faster than this share of the offered rate and
 * has also gained more than BACKLOG_SLACK_S seconds of offered work (a short run's slope is noisy).
 */
const BACKLOG_GROWTH_LIMIT = 0.05;
const BACKLOG_SLACK_S = 0.5;

/**
 * New payments with fresh keys while the workers run: the accept capacity (2xx at the offered rate,
 * p99 under 200 ms) and the end-to-end capacity (also accepted = completed: the backlog in Postgres
 * stays flat), then a check that the money really moved, once and only once per request.
 */
export async function runIngest(
  ctx: BenchContext,
  sut: { target: TargetName; probe: Probe } = { target: 'service', probe: ctx.probe },
): Promise<IngestResult> {
  const { target, probe } = sut;
  let workerDrainRate = NaN;
  const before = { xacts: await probe.transactions(), requests: (await probe.ledger()).requests };
  const cap = await measureCapacity(ctx, {
    target,
    plan: (label) => paymentPlan(ctx, `${target}-ingest-${label}`, { mode: 'fresh' }),
    async extraRates(saturation) {
      const drain = await waitForDrain(probe, ctx.profile.drainMaxMs * 2);
      workerDrainRate = drain.drainRate;
      ctx.log(
        `${target}: workers drained the saturation backlog at ${workerDrainRate.toFixed(0)}/s${drain.drained ? '' : ` (${drain.left} still unfinished)`}`,
      );
      // the end-to-end knee is near the workers' pace: measure around it too
      return workerDrainRate < 0.95 * saturation.achieved ? ctx.profile.ladder.drainFractions.map((f) => f * workerDrainRate) : [];
    },
    async around(run) {
      // start from an empty backlog, whatever the point before left behind
      await waitForDrain(probe, ctx.profile.drainMaxMs);
      // the service's own steps for this point's requests, counted until they are drained (no pushes: nobody follows)
      const stagesBefore = target === 'service' ? await scrapeStages(ctx.stageSources).catch(() => undefined) : undefined;
      let sampling: ReturnType<ReturnType<typeof startBacklogSampler>['stop']> | undefined;
      let sampler: ReturnType<typeof startBacklogSampler> | undefined;
      const point = await run({
        onRun: () => void (sampler = startBacklogSampler(probe)),
        onDone: () => void (sampling = sampler?.stop()),
      });
      const during = await sampling!;
      const drain = await waitForDrain(probe, ctx.profile.drainMaxMs);
      const stagesAfter = stagesBefore && (await scrapeStages(ctx.stageSources).catch(() => undefined));
      const backlog: BacklogReport = { start: during.start, end: during.end, slopePerS: during.slopePerS, ...drain };
      const offered = point.offered ?? 0;
      const reason =
        during.slopePerS > BACKLOG_GROWTH_LIMIT * offered && during.end - during.start > BACKLOG_SLACK_S * offered
          ? `backlog grew ${during.slopePerS.toFixed(0)}/s (${during.start} -> ${during.end} unfinished)`
          : undefined;
      return {
        point,
        backlog,
        ...(reason ? { reason } : {}),
        ...(stagesBefore && stagesAfter && { stages: stageQuantiles(stagesBefore, stagesAfter) }),
      };
    },
  });
  await waitForDrain(probe, ctx.profile.drainMaxMs * 3);
  await new Promise((r) => setTimeout(r, 1_500)); // let the backends flush their counters
  const ledger = await checkLedger(probe);
  const transactionsPerRequest = ((await probe.transactions()) - before.xacts) / Math.max(1, ledger.requests - before.requests);
  ctx.log(`${target}: ${transactionsPerRequest.toFixed(1)} Postgres transactions per payment request`);
  return { ...cap, workerDrainRate, ledger, transactionsPerRequest };
}

/** Every payment request succeeded and made exactly one payment; the pool's total balance is intact. */
export async function checkLedger(probe: Probe): Promise<IngestResult['ledger']> {
  const l = await probe.ledger();
  const problems: string[] = [];
  if (l.unfinished > 0) problems.push(`${l.unfinished} requests still unfinished`);
  if (l.failed > 0) problems.push(`${l.failed} requests failed`);
  if (l.payments !== l.succeeded) problems.push(`${l.payments} payments for ${l.succeeded} succeeded payment requests`);
  if (l.balanceSum !== l.accounts * OPENING_BALANCE) problems.push(`total balance ${l.balanceSum} != ${l.accounts} x ${OPENING_BALANCE}`);
  return { ...l, ok: problems.length === 0, problems };
}
