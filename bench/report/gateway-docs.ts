import type { Point } from '../measure.ts';
import type { BenchResults } from '../results.ts';
import { outcomes } from '../scenarios/gateway.ts';

const ms = (v: number) => (Number.isFinite(v) ? (Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0)) : '-');
const perS = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}/s` : '-');

function row(what: string, load: string, p: Point, throughput: number, answers: string): string {
  return `| ${what} | ${load} | ${perS(throughput)} | ${ms(p.latency.p50)} | ${ms(p.latency.p99)} | ${answers} | ${((p.cpu.foreign ?? 0) / 100).toFixed(2)} |`;
}

/** CPU milliseconds per answer of the given process classes over a point (contention slows them, but barely changes this). */
function cpuMsPer(p: Point, classes: string[], answers: number, scheduledMs: number): number {
  const cores = classes.reduce((a, c) => a + (p.cpu[c] ?? 0) / 100, 0);
  return (cores * Math.max(p.elapsedMs, scheduledMs)) / Math.max(1, answers);
}

/** "Gateway mode": the upstream called directly and through a forward route, in the same run. */
export function gatewaySection(r: BenchResults | undefined): string {
  const g = r?.gateway;
  if (!r || !g) return '## Gateway mode\n\nNot measured yet (the gateway scenario).\n';
  const d = g.direct;
  const f = g.forwarded;
  const seconds = (p: Point, scheduledMs: number) => Math.max(p.elapsedMs, scheduledMs) / 1000;
  const stages = f.stages
    ? Object.entries(f.stages)
        .filter(([, q]) => q.count > 0)
        .map(([s, q]) => `${s.replace(/_/g, ' ')} ${ms(q.p50)}/${ms(q.p99)}`)
        .join(', ')
    : undefined;
  return `## Gateway mode

From the ${r.meta.form} run started ${r.meta.startedAt} (commit \`${r.meta.commit}\`, scenarios ${r.meta.scenarios.join(', ')}).
A forward route (\`${'/v1/forward'}\`) in front of the bench's own upstream on loopback
(bench/gateway/upstream-server.ts: ${g.upstreamWork}), measured in the same run: the upstream
called directly, then through idemq **end to end**: each POST carries \`Prefer: wait=9\`, so its
latency runs from the moment it was due to the 200 carrying the upstream's recorded answer
(key recorded, job run by a worker, upstream called, outcome committed, event relayed, the held
POST woken). Open-loop points are offered the same rate, half the forwarded closed-loop throughput.

| path | load | throughput | p50 ms | p99 ms | answers | foreign |
| --- | --- | ---: | ---: | ---: | --- | ---: |
${row('upstream direct', `closed, ${d.saturation.connections} conn`, d.saturation, d.saturation.achieved, `${d.saturation.ok} 2xx, ${d.saturation.non2xx + d.saturation.errors} failed`)}
${row('through idemq', `closed, ${f.saturation.connections} conn`, f.saturation, f.throughput, `${outcomes(f.saturation)} outcomes (200), ${f.saturation.ok - outcomes(f.saturation)} still pending (202), ${f.saturation.non2xx + f.saturation.errors} failed`)}
${row('upstream direct', `open, ${g.rate}/s`, d.open, d.open.ok / seconds(d.open, 0), `${d.open.ok} 2xx, ${d.open.non2xx + d.open.errors} failed`)}
${row('through idemq', `open, ${g.rate}/s`, f.open, outcomes(f.open) / seconds(f.open, 0), `${outcomes(f.open)} outcomes (200), ${f.open.ok - outcomes(f.open)} still pending (202), ${f.open.non2xx + f.open.errors} failed`)}

${[d.saturation, d.open, f.saturation, f.open].some((p) => (p.cpu.foreign ?? 0) / 100 > 0.5) ? '- **Measured under contention** (foreign above 0.5 cores: other processes took that much of the machine meanwhile): latencies and rates are then mostly waits for a CPU; the CPU per call below is the figure to compare.\n' : ''}- End-to-end throughput through idemq: **${perS(f.throughput)}** outcomes at ${f.saturation.connections} connections, against ${perS(d.saturation.achieved)} calling the upstream directly (${((f.throughput / d.saturation.achieved) * 100).toFixed(0)}%).
- Latency idemq adds to a call at ${g.rate}/s: **+${ms(g.added.p50)} ms at p50, +${ms(g.added.p99)} ms at p99** (forwarded minus direct).
- CPU per call at ${f.saturation.connections} connections (contention moves it less than latencies and rates, though it still inflates it): the upstream ${ms(cpuMsPer(d.saturation, ['upstream'], d.saturation.ok, 0))} ms per direct call; through idemq ${ms(cpuMsPer(f.saturation, ['api', 'workers', 'postgres'], outcomes(f.saturation), 0))} ms per forwarded call besides the upstream's (API ${ms(cpuMsPer(f.saturation, ['api'], outcomes(f.saturation), 0))}, workers ${ms(cpuMsPer(f.saturation, ['workers'], outcomes(f.saturation), 0))}, the run's Postgres backends ${ms(cpuMsPer(f.saturation, ['postgres'], outcomes(f.saturation), 0))}; Redis is left out: its server is shared with other processes, so its CPU is not this run's alone).
${stages ? `- Where the forwarded open point spent its time (p50/p99 ms, see "Latency per stage"): ${stages}.\n` : ''}`;
}
