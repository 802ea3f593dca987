import { type BenchContext, paymentPlan, type TargetName } from '../context.ts';
import { measurePoint, type Point, repeatIfContended } from '../measure.ts';
import { type LatencySummary, summarize } from '../stats.ts';
import { judgeAccept, type PointSummary, summarizeRuns } from '../summary.ts';
import { diffTcpCounters, readTcpCounters, type TcpCounters } from '../system/tcp-counters.ts';

/** A first answer later than this on a fresh connection looks like a retransmitted SYN or SYN-ACK (RTO 1 s). */
const RETRANSMIT_LIKE_MS = 900;

export interface ConnectionsRun {
  point: Point;
  ramp: {
    opened: number;
    failed: number;
    wave: number;
    durationMs: number;
    connectMs: LatencySummary;
    firstResponseMs: LatencySummary;
    slowFirstResponses: number;
  };
  /** machine-wide kernel counters over the ramp and the run */
  tcp: TcpCounters;
}

export interface ConnectionsResult {
  rate: number;
  connections: number;
  service: { runs: ConnectionsRun[]; summary: PointSummary; reasons: string[] };
  baseline: { runs: ConnectionsRun[]; summary: PointSummary; reasons: string[] };
}

/**
 * 10,000 keep-alive connections opened in waves (the accept queue here holds min(511, somaxconn)),
 * each warmed by one request, then all of them sending together at `rate`, spread over the
 * connections in turn; the same against the bare route.
 */
export async function runConnections(ctx: BenchContext, rate: number): Promise<ConnectionsResult> {
  const c = ctx.profile.connections;
  const one = async (target: TargetName, rep: string): Promise<ConnectionsRun> => {
    const before = readTcpCounters();
    const { point, load } = await measurePoint(ctx, {
      target,
      mode: { kind: 'rate', rate, durationMs: c.ms },
      plan: paymentPlan(ctx, `conn-${target}-${rep}`, { mode: 'fresh' }),
      connections: c.count,
      wave: c.wave,
      processes: c.processes,
    });
    const tcp = diffTcpCounters(before, readTcpCounters());
    const ramp = load.ramp!;
    const run: ConnectionsRun = {
      point,
      ramp: {
        opened: ramp.opened,
        failed: ramp.failed,
        wave: ramp.wave,
        durationMs: ramp.durationMs,
        connectMs: summarize(ramp.connectMs),
        firstResponseMs: summarize(ramp.firstResponseMs),
        slowFirstResponses: ramp.firstResponseMs.filter((ms) => ms > RETRANSMIT_LIKE_MS).length,
      },
      tcp,
    };
    ctx.log(
      `${target}: ${ramp.opened}/${c.count} connections in ${(ramp.durationMs / 1000).toFixed(1)} s (${run.ramp.slowFirstResponses} slow first answers, ` +
        `ListenOverflows +${tcp.ListenOverflows}, SYN retrans +${tcp.TCPSynRetrans}); ${rate}/s -> p99 ${point.latency.p99.toFixed(1)} ms`,
    );
    return run;
  };
  const result = { rate, connections: c.count } as ConnectionsResult;
  for (const target of ['service', 'baseline'] as const) {
    const runs: ConnectionsRun[] = [];
    for (let rep = 0; rep < c.reps; rep++) {
      let attempt = 0;
      runs.push(
        (
          await repeatIfContended(
            ctx,
            `${target} at ${c.count} connections`,
            () => one(target, `${rep}-${attempt++}`),
            (r) => r.point,
          )
        ).result,
      );
    }
    const summary = summarizeRuns(runs.map((r) => r.point));
    const reasons = judgeAccept(summary);
    for (const r of runs) if (r.ramp.opened < c.count) reasons.push(`only ${r.ramp.opened} of ${c.count} connections opened`);
    result[target] = { runs, summary, reasons };
  }
  return result;
}
