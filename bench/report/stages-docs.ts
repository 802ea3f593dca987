import type { BenchResults } from '../results.ts';
import { medianStages, type StageQuantiles } from '../system/stage-sampler.ts';

/** the service's steps in their order, as the stage histograms name them */
const STEPS = ['accepted_to_enqueued', 'enqueued_to_taken', 'taken_to_committed', 'committed_to_published', 'published_to_pushed'] as const;
const TOTAL = 'accepted_to_pushed';
const PUSH_BUDGET_MS = 100;

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v < 10 ? v.toFixed(1) : v.toFixed(0));

/** The step with the largest p99: where a push that misses its budget spends most of its time. */
export function slowestStep(stages: Record<string, StageQuantiles>): { step: string; p99: number } | undefined {
  return STEPS.map((step) => ({ step, p99: stages[step]?.p99 ?? NaN }))
    .filter((s) => Number.isFinite(s.p99))
    .sort((a, b) => b.p99 - a.p99)[0];
}

/** One load point of the end-to-end scenario: the client's 202 -> push, then the service's steps. */
function pointTable(
  rate: number,
  push: { p50: number; p99: number },
  stages: Record<string, StageQuantiles>,
  foreignCores: number,
): string {
  const rows = [...STEPS, TOTAL].map(
    (s) =>
      `| ${s === TOTAL ? '**key recorded -> pushed (whole)**' : s.replace(/_/g, ' ')} | ${stages[s]?.count ?? 0} | ${ms(stages[s]?.p50)} | ${ms(stages[s]?.p99)} |`,
  );
  const slowest = slowestStep(stages);
  const verdict =
    push.p99 < PUSH_BUDGET_MS
      ? `push p99 ${ms(push.p99)} ms: within the ${PUSH_BUDGET_MS} ms budget`
      : `push p99 ${ms(push.p99)} ms misses the ${PUSH_BUDGET_MS} ms budget; the largest step is **${slowest?.step.replace(/_/g, ' ') ?? 'unknown'}** (p99 ${ms(slowest?.p99)} ms)`;
  return [
    `At ${rate}/s (client: 202 -> push p50 ${ms(push.p50)} ms, p99 ${ms(push.p99)} ms; other processes used ${foreignCores.toFixed(2)} cores meanwhile${foreignCores > 0.5 ? ', so every step carries waits for a CPU' : ''}): ${verdict}.`,
    '',
    '| step | counted | p50 ms | p99 ms |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

/** The ingest ladder: the worker's steps at each offered rate (nobody follows, so no push steps). */
function ingestTable(r: BenchResults): string | undefined {
  const steps = (r.ingest?.steps ?? []).filter((s) => s.stages?.length).sort((a, b) => a.offered - b.offered);
  if (steps.length === 0) return undefined;
  const worker = STEPS.slice(0, 4);
  return [
    "The ingest ladder (no follower, so no push steps; counted until each point's backlog drained), p50 / p99 ms:",
    '',
    `| offered | POST p99 ms | ${worker.map((s) => s.replace(/_/g, ' ')).join(' | ')} |`,
    `| ---: | ---: | ${worker.map(() => '---:').join(' | ')} |`,
    ...steps.map((s) => {
      const q = medianStages(s.stages!);
      return `| ${s.offered}/s | ${ms(s.summary.p99)} | ${worker.map((w) => `${ms(q[w]?.p50)} / ${ms(q[w]?.p99)}`).join(' | ')} |`;
    }),
  ].join('\n');
}

/**
 * "Latency per stage": for each load point of the end-to-end scenario of `r`, the p50 and p99 of
 * each step, from the service's stage histograms scraped before and after the point.
 */
export function stagesSection(r: BenchResults | undefined): string {
  const e2e = r?.e2e;
  const points = e2e?.runs.filter((run) => run.stages) ?? [];
  if (!r || !e2e || points.length === 0) return '## Latency per stage\n\nNot measured yet (the e2e scenario of a run with this version).\n';
  const ingest = ingestTable(r);
  return `## Latency per stage

From the ${r.meta.form} run started ${r.meta.startedAt} (commit \`${r.meta.commit}\`, scenarios ${r.meta.scenarios.join(', ')}${
    Object.keys(r.meta.serviceEnv).length
      ? `, env ${Object.entries(r.meta.serviceEnv)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : ''
  }).
The service's own histograms (\`idemq_worker_stage_duration_seconds\` and \`idemq_stage_duration_seconds\`, from the worker's and the API's
/metrics, scraped before and after each load point; quantiles interpolated within buckets as
Prometheus does, so a figure is as fine as its bucket) split each request's way from its key's record to the push of its
outcome. The whole starts at the record, a little before the 202 the client times from (the 202 waits for the
enqueue), so it runs a little above the client's figure. A push counts when the terminal event woke its
follower; one whose follower read the outcome early (woken by the \`processing\` event after the
commit) does not, hence fewer pushes than requests. Steps: docs/operations.md, "Metrics".

${points.map((run) => pointTable(run.point.offered ?? e2e.rate, run.push, run.stages!, (run.point.cpu.foreign ?? 0) / 100)).join('\n\n')}
${ingest ? `\n${ingest}\n` : ''}`;
}
