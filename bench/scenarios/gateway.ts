import { type BenchContext, paymentPlan } from '../context.ts';
import { GATEWAY_ROUTE, UPSTREAM_WORK_ROUNDS } from '../gateway/upstream.ts';
import type { RequestPlan } from '../load/request-plan.ts';
import { measurePoint, type Point } from '../measure.ts';
import { scrapeStages, type StageQuantiles, stageQuantiles } from '../system/stage-sampler.ts';

/** how long a forwarded request's POST holds for its outcome (Prefer: wait), under the generator's 10 s timeout */
const WAIT_S = 9;

export interface GatewaySide {
  /** closed loop at the profile's saturation connections (100) */
  saturation: Point;
  /** open loop at the scenario's rate */
  open: Point;
}

export interface GatewayResult {
  upstreamWork: string;
  /** the open-loop rate both sides were offered: half the forwarded closed-loop throughput */
  rate: number;
  /** the upstream's POST /work called straight */
  direct: GatewaySide;
  /** POST GATEWAY_ROUTE with Prefer: wait: answered 200 once the upstream's answer is recorded */
  forwarded: GatewaySide & {
    /** outcomes per second (200 answers) in the closed loop: the end-to-end throughput */
    throughput: number;
    /** the forwarded open point's stage timings (see e2e), when the scrapes worked */
    stages?: Record<string, StageQuantiles>;
  };
  /** forwarded minus direct, open loop at the same rate, in ms */
  added: { p50: number; p99: number };
}

/**
 * Gateway mode: the bench's upstream called directly, then through idemq's forward route end to
 * end (202 is not the end: the POST waits for the recorded outcome), at 100 connections closed
 * loop and at one open-loop rate, so the latency idemq adds to a call is read at equal load.
 */
export async function runGateway(ctx: BenchContext): Promise<GatewayResult> {
  if (!ctx.targets.upstream) throw new Error('the upstream is not running (the gateway scenario starts it in setup)');
  const plan = (label: string, path: string, headers?: Record<string, string>): RequestPlan => ({
    ...paymentPlan(ctx, `gateway-${label}`, { mode: 'fresh' }),
    path,
    ...(headers && { headers }),
  });
  const direct = (label: string) => plan(`direct-${label}`, '/work');
  const forwarded = (label: string) => plan(`fwd-${label}`, GATEWAY_ROUTE, { prefer: `wait=${WAIT_S}` });
  const closed = { kind: 'closed' as const, durationMs: ctx.profile.saturation.ms };
  const connections = ctx.profile.saturation.connections;

  const directSat = (await measurePoint(ctx, { target: 'upstream', mode: closed, plan: direct('saturation'), connections })).point;
  ctx.log(
    `gateway: upstream direct ${directSat.achieved.toFixed(0)}/s at ${connections} connections, p99 ${directSat.latency.p99.toFixed(1)} ms`,
  );
  const fwdSat = (await measurePoint(ctx, { target: 'service', mode: closed, plan: forwarded('saturation'), connections })).point;
  const throughput = outcomes(fwdSat) / (Math.max(fwdSat.elapsedMs, closed.durationMs) / 1000);
  ctx.log(
    `gateway: forwarded end to end ${throughput.toFixed(0)}/s at ${connections} connections, p99 ${fwdSat.latency.p99.toFixed(1)} ms`,
  );

  const rate = Math.max(10, Math.round(throughput / 2));
  const open = { kind: 'rate' as const, rate, durationMs: ctx.profile.ladder.ms };
  const openConnections = ctx.profile.ladder.connections;
  const directOpen = (await measurePoint(ctx, { target: 'upstream', mode: open, plan: direct('open'), connections: openConnections }))
    .point;
  const before = await scrapeStages(ctx.stageSources).catch(() => undefined);
  const fwdOpen = (await measurePoint(ctx, { target: 'service', mode: open, plan: forwarded('open'), connections: openConnections })).point;
  const after = before && (await scrapeStages(ctx.stageSources).catch(() => undefined));
  const added = { p50: fwdOpen.latency.p50 - directOpen.latency.p50, p99: fwdOpen.latency.p99 - directOpen.latency.p99 };
  ctx.log(
    `gateway at ${rate}/s: direct p50 ${directOpen.latency.p50.toFixed(1)} p99 ${directOpen.latency.p99.toFixed(1)} ms, forwarded p50 ${fwdOpen.latency.p50.toFixed(1)} p99 ${fwdOpen.latency.p99.toFixed(1)} ms`,
  );
  return {
    upstreamWork: `SHA-256 of the body chained ${UPSTREAM_WORK_ROUNDS} times, deduped by Idempotency-Key`,
    rate,
    direct: { saturation: directSat, open: directOpen },
    forwarded: { saturation: fwdSat, open: fwdOpen, throughput, ...(before && after && { stages: stageQuantiles(before, after) }) },
    added,
  };
}

/** answers that carried the outcome (200); a 202 means the wait ended before it */
export const outcomes = (p: Point) => p.status['200'] ?? 0;
