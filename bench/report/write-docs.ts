import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BenchResults, readResults } from '../results.ts';
import { foreignCoresByScenario } from './contention.ts';
import { calledFrom } from './cpu-profile-summary.ts';
import { latencyChart } from './latency-chart.ts';
import { COLUMNS } from './print-table.ts';
import { resultRows } from './rows.ts';
import { gatewaySection } from './gateway-docs.ts';
import { stagesSection } from './stages-docs.ts';
import { workDetails, workHistoryTable } from './work-table.ts';
import { readWorkHistory } from '../work/history.ts';

const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));
const CHART = 'benchmark-latency.svg';

const cell = (s: string) => s.replace(/\|/g, '\\|');

function resultsTable(r: BenchResults): string {
  const rows = resultRows(r);
  return [
    `| ${COLUMNS.map(([h]) => h).join(' | ')} |`,
    `|${COLUMNS.map((_, i) => (i < 2 || i === COLUMNS.length - 1 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((row) => `| ${COLUMNS.map(([, f]) => cell(f(row))).join(' | ')} |`),
  ].join('\n');
}

function targetsTable(r: BenchResults): string {
  return [
    '| target | measured | met | notes |',
    '| --- | --- | --- | --- |',
    ...r.targets.map(
      (t) =>
        `| ${cell(t.target)} | ${cell(t.measured)} | ${t.met === null ? 'not measured' : t.met ? '**yes**' : '**no**'} | ${cell(t.note)} |`,
    ),
  ].join('\n');
}

function runFacts(r: BenchResults): string {
  const m = r.meta;
  const c = m.contention;
  const contended = c.medianForeignCores > 0.2 || c.maxForeignCores > 0.5;
  const lines = [
    `- ${m.form} form, started ${m.startedAt}, ${Math.round(m.durationS / 60)} min, commit \`${m.commit}\`, Node ${m.node}, ${m.cpus} x ${m.cpuModel}, ${m.memGb} GiB, somaxconn ${m.somaxconn}`,
    `- service: 1 API process, ${m.workers} worker process(es)${
      Object.keys(m.serviceEnv).length
        ? `, env ${Object.entries(m.serviceEnv)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`
        : ', default pool and concurrency settings'
    }`,
    `- Postgres autovacuum: ${m.autovacuum ?? 'not recorded (runs before bench/vacuum.ts)'}`,
    `- other processes on the machine used **${c.medianForeignCores.toFixed(2)} cores** (median over ${c.points} measured loads; max ${c.maxForeignCores.toFixed(2)}) of ${m.cpus}: ${contended ? '**measured under contention**: absolute rates are lower and noisier than on an idle machine' : 'little contention'}`,
  ];
  const byScenario = Object.entries(foreignCoresByScenario(r)).map(([k, v]) => `${k} ${v.toFixed(2)}`);
  lines.push(
    `- foreign cores by scenario (median): ${byScenario.join(', ')}; a ratio whose two sides saw different contention is skewed accordingly`,
  );
  if (r.baselineDrift) {
    const { start, end } = r.baselineDrift;
    lines.push(
      `- the machine's own speed: the bare route's closed loop gave ${Math.round(start)}/s at the start and ${Math.round(end)}/s again at the end (${(((end - start) / start) * 100).toFixed(0)}%); every ratio carries that much uncertainty`,
    );
  }
  if (m.halfRate) lines.push(`- "half the sustained rate" = ${m.halfRate.rate}/s (from ${m.halfRate.from})`);
  if (r.failures.length) lines.push(`- **failed scenarios**: ${r.failures.map((f) => `${f.scenario} (${f.message})`).join('; ')}`);
  return lines.join('\n');
}

const cores = (cpu: Record<string, number>, keys: string[]) =>
  keys
    .filter((k) => cpu[k] !== undefined)
    .map((k) => `${k} ${((cpu[k] ?? 0) / 100).toFixed(2)}`)
    .join(', ');

function extras(r: BenchResults): string {
  const out: string[] = [];
  for (const [name, c] of [
    ['bare route', r.baseline],
    ['ingest', r.ingest],
    ['ingest, naive path', r.naive],
    ['replay', r.replay],
  ] as const) {
    if (!c) continue;
    out.push(
      `- ${name} at saturation (${Math.round(c.saturation.achieved)}/s): cores used by ${cores(c.saturation.cpu, ['baseline', 'api', 'workers', 'naive', 'postgres', 'infra', 'generator', 'foreign'])} (machine ${c.saturation.cpu.machineBusyCores.toFixed(2)} of ${r.meta.cpus} busy).`,
    );
  }
  if (r.ingest) {
    out.push(
      `- ingest: the workers drained a backlog at ${Math.round(r.ingest.workerDrainRate)}/s; ${r.ingest.transactionsPerRequest?.toFixed(1)} Postgres transactions per payment request (API and worker together); ledger after the ingest: ${r.ingest.ledger.payments} payments for ${r.ingest.ledger.succeeded} succeeded requests, ${r.ingest.ledger.failed} failed, total balance ${r.ingest.ledger.ok ? 'intact' : 'WRONG'}.`,
    );
  }
  if (r.naive) {
    out.push(
      `- naive path: its worker (one transaction per job, 10 at a time) drained a backlog at ${Math.round(r.naive.workerDrainRate)}/s; ${r.naive.transactionsPerRequest?.toFixed(1)} Postgres transactions per payment request; ledger: ${r.naive.ledger.payments} payments for ${r.naive.ledger.succeeded} succeeded requests, total balance ${r.naive.ledger.ok ? 'intact' : 'WRONG'}.`,
    );
  }
  if (r.connections) {
    for (const t of ['service', 'baseline'] as const) {
      const run = r.connections[t].runs[0];
      if (!run) continue;
      out.push(
        `- 10k connections (${t}): ${run.ramp.opened} opened in ${(run.ramp.durationMs / 1000).toFixed(1)} s in waves of ${run.ramp.wave}; first answer on a new connection p99 ${run.ramp.firstResponseMs.p99.toFixed(0)} ms, max ${run.ramp.firstResponseMs.max.toFixed(0)} ms, ${run.ramp.slowFirstResponses} over 900 ms (SYN-retransmit-like); kernel ListenOverflows +${run.tcp.ListenOverflows}, TCPSynRetrans +${run.tcp.TCPSynRetrans} (machine-wide).`,
      );
    }
  }
  if (r.e2e?.runs[0])
    out.push(
      `- e2e: subscribe to first WebSocket message (current state read from Postgres) p50 ${r.e2e.runs[0].firstMessage.p50.toFixed(1)} ms, p99 ${r.e2e.runs[0].firstMessage.p99.toFixed(1)} ms.`,
    );
  if (r.apiRssOverRun)
    out.push(
      `- API RSS over the whole run: ${r.apiRssOverRun.startMb.toFixed(0)} -> ${r.apiRssOverRun.endMb.toFixed(0)} MB, max ${r.apiRssOverRun.maxMb.toFixed(0)} MB.`,
    );
  for (const p of r.cpuProfiles ?? []) {
    out.push(
      `- CPU profile \`${p.file}\` (${p.durationS.toFixed(0)} s, idle ${p.idlePct.toFixed(0)}%), top self time in % of busy time: ${p.top
        .slice(0, 6)
        .map((f) => `${f.name} ${f.selfPct.toFixed(1)}%${calledFrom(f)}`)
        .join(', ')}.`,
    );
  }
  return out.join('\n');
}

function section(r: BenchResults, title: string): string {
  return `## ${title}\n\n${runFacts(r)}\n\n### Targets\n\n${targetsTable(r)}\n\n### All measurements\n\n${resultsTable(r)}\n\n${extras(r)}\n`;
}

/** The newest stored run (full, quick or the latest of any form) that `has` what a section shows. */
function newest(has: (r: BenchResults) => boolean): BenchResults | undefined {
  return (['full', 'quick', 'latest'] as const)
    .map((form) => readResults(form))
    .filter((r): r is BenchResults => r !== undefined && has(r))
    .sort((a, b) => b.meta.startedAt.localeCompare(a.meta.startedAt))[0];
}

function workSection(latest: BenchResults | undefined): string {
  const history = readWorkHistory();
  if (!history.length) return '';
  const shown = history.slice(-8);
  return `## Work per request

What one payment costs each part of the system, end to end, per stored run (the column is the last
commit that changed the service's code; \`+\` when its files were modified; the rate the payments
were offered at). The work per request falls as the rate rises, since more requests share each
batch, commit and BullMQ fetch: compare columns of the same rate. Standard runs offer 1,000/s,
where the service's batching works as it does under real load; the first column, at 200/s, shows
the low-rate end. First requests of fresh keys, run to completion:

${workHistoryTable(shown, 'submit')}

Replays of the same keys, all completed:

${workHistoryTable(shown, 'replay')}
${latest?.work ? `\nThe latest run (${latest.meta.form} form, ${latest.meta.startedAt.slice(0, 10)}) in detail:\n\n${workDetails(latest.work)}\n` : ''}`;
}

/**
 * Renders docs/benchmarks.md and the chart from bench/results/{full,quick}.json; the per-stage
 * and gateway sections from the newest run that measured them (latest.json included).
 */
export function writeDocs(): string[] {
  const full = readResults('full');
  const quick = readResults('quick');
  const main = full ?? quick;
  if (!main) throw new Error('no results in bench/results/: run npm run bench first');
  mkdirSync(DOCS, { recursive: true });
  writeFileSync(`${DOCS}${CHART}`, latencyChart(main));
  const md = `# Benchmarks

Generated by \`npm run bench\` (bench/report/write-docs.ts) from \`bench/results/full.json\` and
\`bench/results/quick.json\`; do not edit by hand. The performance targets are each judged as a
ratio to a bare Fastify route measured in the same run, with the same generator and the same requests.

## How to reproduce

Needs the local Postgres (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379).

\`\`\`sh
npm run bench                     # full form: every scenario, medians of 3 runs, 5-minute memory run (about 25 min)
npm run bench -- --quick          # quick form: every scenario once, short, no memory run (about 3 min)
npm run bench -- --quick --only=baseline,ingest --cpu-prof   # profile the API and worker under ingest
npm run bench -- --quick --only=work   # the work per request alone (about 1 min)
npm run bench -- --only=scale   # the capacity model's matrix, storage and Redis memory (opt-in, about 9 min; docs/scaling.md)
npm run bench -- --set PG_POOL_SIZE=20 --set WORKER_CONCURRENCY=32 --workers=2   # try settings
node bench/report/write-docs.ts   # re-render this page and the chart from the stored results
\`\`\`

A run with \`--only\`, \`--set\`, \`--rate\` or \`--workers\` writes \`bench/results/latest.json\` only: this page
shows standard runs of each form, except "Latency per stage" and "Gateway mode", which show the newest run
that measured them (latest.json included; its form, commit and settings are named there).

Each run drops and recreates its own database (\`idemq_bench\`, kept afterwards for inspection), uses
its own queue prefix (\`bench-<run id>\`, whose Redis keys it deletes at the end), starts the bare
baseline server (bench/baseline-server.ts), the API (examples/ledger/api.ts) and the worker (examples/ledger/worker.ts)
as child processes (\`LOG_LEVEL=warn\`, rate limit out of reach, open files raised to 65,536 or the
hard limit), opens an account
pool through the API, and stops everything it started, also when over its time limit.

## Method

- **Generator**: bench/load/, raw keep-alive sockets, one request in flight per connection, in
  separate processes from the harness. **Open loop**: request *i* is due at *t0 + i/rate*
  whatever the latency; when no connection is free it waits in the generator, and its latency counts
  from its due time, so a slow server cannot hide behind a slower client (no coordinated omission).
  autocannon's \`overallRate\` is not used because it splits the rate per connection and sends each
  connection's share back to back at the start of every second (a 1 Hz burst, closed loop per
  connection). The same generator measures 32k req/s on the bare route at ~40% of one core.
- **Bare route**: receives byte for byte the requests the service gets (POST /v1/payments, bearer
  token, JSON body, a fresh Idempotency-Key each), parses the JSON and answers 202 \`{"id","status"}\`.
- **Naive path** (bench/naive/): the naive design, measured in the same run exactly like
  ingest, against a database and queue prefix of its own: one \`INSERT … ON CONFLICT\` and one
  BullMQ \`add()\` per request, awaited before the 202, and a worker doing one transaction per job
  (10 at a time, the pool's size). No outbox, no \`processing\` state: it does less than the
  service per request, so the comparison flatters it.
- **Capacity** (bare route, ingest, naive path, replay): first a closed loop at 100 connections (the targets'
  "at 100 connections" figure), then an open-loop ladder at fractions of that throughput (ingest
  also around the pace at which the workers drained the saturation backlog). A point is
  **sustained** when its median run answered everything 2xx, at >= 95% of the offered rate, with
  p99 < 200 ms; for ingest **end to end** also needs the backlog (requests not yet terminal, counted
  in Postgres every 0.5 s) to stay flat: it fails when it grows by more than 5% of the offered rate
  per second *and* ends more than half a second of offered work above where it started. The
  sustained rate is the highest such point; ratios are sustained rate over the bare route's.
- **Retry storm**: 1,000 connections opened first, then all requests due at once; time from then
  to the last answer. Checked in Postgres: one request id per key in every answer, exactly one
  payment per key.
- **End to end**: every 202 is followed on the WebSocket (\`subscribe\`); the time from the 202 to
  the push of the terminal status, on one clock. The service's stage histograms are scraped before
  and after each point, and their deltas give each step's p50 and p99 ("Latency per stage").
- **Work per request** (the \`work\` scenario): an API process and a worker process on a Postgres
  and a redis-server of their own (autovacuum off there, pg_stat_statements loaded), so that no
  other process moves their counters. After a warm-up, a batch of payments at a fixed open-loop
  rate runs to completion, then the same keys are replayed at the same rate; each pass's deltas,
  divided by its requests, are the work of one request: tuples written per table
  (\`pg_stat_user_tables\`), WAL (\`pg_stat_wal\`), the service's transactions, the statements each
  process sent (\`pg_stat_statements\` by role, BEGIN and COMMIT included; node-postgres sends one
  statement per round trip), Redis commands and Lua calls (\`INFO commandstats\`), and the CPU time
  of the API, the worker, the Postgres instance (postmaster and every process under it) and
  redis-server from /proc. Each window ends 11 s after the last answer (when Postgres has
  published its counters), so periodic work (reconciler, stalled-job checks, relay polls) is
  included; an 11 s idle window before the passes gives that periodic cost per second, taken out in
  the "net of idle" rows. Counts, not throughput: they hardly depend on contention, but they do depend on the
  rate (group commit batches more at higher rates). Every standard run adds a column to
  \`bench/results/work-history.json\`, shown below. The capacity model built on these figures is
  [scaling.md](scaling.md).
- **CPU accounting and contention**: /proc is scanned during every load; processes that are not
  this run's (other engineers' tests, their Postgres backends) count as *foreign* (the table's
  \`foreign\` column, in cores). In the full form a run during which they used more than half a
  core is measured once more (the second result stands; the quick form only flags it), and the ladder does not stop at a failure under contention
  unless the next point fails too. The bare route needs nearly both cores (itself plus the
  generator), so it loses most to contention, which inflates every ratio measured meanwhile.
- **Drift**: this machine is a shared VM whose speed moves by tens of percent within minutes
  (seen: the same bare route at 11.5k, 14.5k and 18.0k req/s in three consecutive 30 s runs, and
  17.6k then 25.4k within one 20 s run). After the last scenario the bare route's closed loop is
  measured again; both figures are printed with the results. Ratios use the bare route measured
  at the start, so read each one with that spread in mind.
- **Autovacuum**: production Postgres runs it; this workplace's CI image turns it off
  (\`conf.d/90-ci.conf\`), and then the hot rows (accounts, outbox, requests) bloat within minutes
  and each statement gets about 3x slower. Where it is off, the run stands in for it with
  \`VACUUM (ANALYZE)\` of those tables every 10 s (bench/vacuum.ts); each run records which. The full
  run at 8282612 had it on: it was switched on on the session's server (ALTER SYSTEM) a minute
  after that run started.

## Where things are

| path | job |
| --- | --- |
| bench/run.ts | entry: options, scenarios in order, table, JSON, docs |
| bench/setup.ts, services.ts, database.ts, accounts.ts | processes, database, account pool |
| bench/load/ | the generator: request plan, response parser, connection pool, load loop, generator processes, WebSocket variant |
| bench/measure.ts, summary.ts, backlog.ts, probe.ts | one measured point, medians and criteria, backlog and ledger from Postgres |
| bench/gateway/ | the gateway scenario's upstream (fixed small work per call) and its routes file |
| bench/scenarios/ | capacity ladder, baseline, ingest, naive path, replay, connections, storm, e2e, gateway, work per request, memory, scale (opt-in) |
| bench/work/ | the private Postgres and Redis the work and scale scenarios run on, their counters, differences per request, storage per key, the history across commits |
| bench/naive/ | the naive path: a one-INSERT-one-add() API and a one-transaction-per-job worker |
| bench/system/ | CPU per process class and per process tree, RSS, heap from /metrics, stage histograms from /metrics, kernel TCP counters |
| bench/report/ | rows, console table, targets, docs, chart, CPU profile summary |

## Chart

![p50 and p99 latency against offered rate](${CHART})

${stagesSection(newest((r) => Boolean(r.e2e?.runs.some((run) => run.stages))))}
${gatewaySection(newest((r) => Boolean(r.gateway)))}
${workSection(full?.work ? full : quick)}
${full ? section(full, 'Latest full run') : '## Latest full run\n\nNot run yet.\n'}
${quick ? section(quick, 'Latest quick run') : ''}`;
  writeFileSync(`${DOCS}benchmarks.md`, md);
  return [`${DOCS}benchmarks.md`, `${DOCS}${CHART}`];
}

if (import.meta.main) console.log(`wrote ${writeDocs().join(', ')}`);
