import { parseOptions, type ScenarioName } from './options.ts';
import { formatTable, formatTargets } from './report/print-table.ts';
import { pointsByScenario } from './report/contention.ts';
import { calledFrom, summarizeCpuProfiles } from './report/cpu-profile-summary.ts';
import { resultRows } from './report/rows.ts';
import { formatScaleTable } from './report/scale-table.ts';
import { formatWorkTable } from './report/work-table.ts';
import { checkTargets } from './report/targets.ts';
import { writeDocs } from './report/write-docs.ts';
import { type BenchResults, machineMeta, writeResults, writeScaleResults } from './results.ts';
import { runBaseline } from './scenarios/baseline.ts';
import { measureSaturation } from './scenarios/capacity.ts';
import { paymentPlan } from './context.ts';
import { runConnections } from './scenarios/connections.ts';
import { runE2e } from './scenarios/e2e.ts';
import { runGateway } from './scenarios/gateway.ts';
import { runIngest } from './scenarios/ingest.ts';
import { runNaive } from './scenarios/naive.ts';
import { rssTrend, runMemory } from './scenarios/memory.ts';
import { runReplay } from './scenarios/replay.ts';
import { runScale } from './scenarios/scale.ts';
import { runWork } from './scenarios/work.ts';
import { runStorm } from './scenarios/storm.ts';
import { type Bench, PROFILE_DIR, startBench } from './setup.ts';
import { appendWorkHistory } from './work/history.ts';
import { median } from './stats.ts';
import { startRssSampler } from './system/rss-sampler.ts';

// `npm run bench [-- --quick]`: the benchmark suite. Starts its own processes against a
// database and queue prefix of its own, runs every scenario, and stops by itself (hard time limit).
const opts = parseOptions(process.argv.slice(2));
const t0 = Date.now();
const log = (line: string) => console.log(`[${String(Math.round((Date.now() - t0) / 1000)).padStart(4)} s] ${line}`);
const HARD_LIMIT_MS = ((opts.profile.name === 'quick' ? 4 : 50) + (opts.only.has('scale') ? 10 : 0)) * 60_000 + opts.profile.memoryMs;

let bench: Bench | undefined;
const abort = async (why: string) => {
  log(`${why}: stopping the processes this run started`);
  await bench?.stop().catch(() => undefined);
  process.exit(1);
};
setTimeout(() => void abort(`over the time limit of ${HARD_LIMIT_MS / 60_000} min`), HARD_LIMIT_MS).unref();
process.once('SIGINT', () => void abort('interrupted'));
process.once('SIGTERM', () => void abort('terminated'));

const results: Omit<BenchResults, 'targets' | 'meta'> = { failures: [] };
const want = (s: ScenarioName) => opts.only.has(s);
bench = await startBench(opts, log);
const { ctx } = bench;
const apiRss = startRssSampler(ctx.pids.api, 2_000);

async function scenario<T>(name: ScenarioName, run: () => Promise<T>): Promise<T | undefined> {
  if (!want(name)) return undefined;
  log(`--- ${name}`);
  try {
    return await run();
  } catch (err) {
    log(`${name} FAILED: ${(err as Error).stack ?? err}`);
    results.failures.push({ scenario: name, message: String((err as Error).message ?? err) });
    return undefined;
  }
}

results.baseline = await scenario('baseline', () => runBaseline(ctx));
results.ingest = await scenario('ingest', () => runIngest(ctx));
results.naive = await scenario('naive', () => runNaive(ctx, { pgServer: opts.pgServer, redisUrl: opts.redisUrl }));
const sustained = opts.rate ?? results.ingest?.sustainedWithBacklog ?? results.ingest?.steps[0]?.offered;
const halfRate = {
  rate: Math.max(10, Math.round((sustained ?? 400) / 2)),
  from: opts.rate ? '--rate' : results.ingest ? 'ingest' : 'default 400/s',
};
if (want('connections') || want('e2e') || want('memory'))
  log(`half the sustained end-to-end rate: ${halfRate.rate}/s (from ${halfRate.from})`);
results.replay = await scenario('replay', () => runReplay(ctx));
results.connections = await scenario('connections', () => runConnections(ctx, halfRate.rate));
results.storm = await scenario('storm', async () => [await runStorm(ctx, 1), await runStorm(ctx, 100)]);
results.e2e = await scenario('e2e', () => runE2e(ctx, halfRate.rate));
results.gateway = await scenario('gateway', () => runGateway(ctx));
results.work = await scenario('work', () => runWork(opts.profile.work, log));
results.scale = await scenario('scale', () => runScale(opts.profile.scale, log));
if (opts.profile.memoryMs > 0) results.memory = await scenario('memory', () => runMemory(ctx, halfRate.rate, opts.profile.memoryMs));
results.apiRssOverRun = rssTrend(apiRss.stop());
if (results.baseline) {
  const start = results.baseline.saturation.achieved;
  const end = (await measureSaturation(ctx, 'baseline', paymentPlan(ctx, 'baseline-again', { mode: 'fresh' }))).achieved;
  results.baselineDrift = { start, end };
  log(
    `bare route again: ${end.toFixed(0)}/s closed loop (${start.toFixed(0)}/s at the start, ${(((end - start) / start) * 100).toFixed(0)}%)`,
  );
}

await ctx.probe.close();
await bench.stop();
if (opts.cpuProfile) results.cpuProfiles = await summarizeCpuProfiles(PROFILE_DIR);

const points = Object.values(pointsByScenario(results)).flat();
const workPasses = results.work ? [results.work.submit, results.work.replay] : [];
const foreign = [
  ...points.map((p) => (p.cpu.foreign ?? 0) / 100),
  ...workPasses.map((w) => w.foreignCores),
  ...(results.scale?.points.map((p) => p.cores.foreign) ?? []),
];
const full: BenchResults = {
  meta: {
    ...machineMeta(opts),
    autovacuum: bench.autovacuum,
    startedAt: new Date(t0).toISOString(),
    durationS: Math.round((Date.now() - t0) / 1000),
    scenarios: [...opts.only],
    ...(want('connections') || want('e2e') || want('memory') ? { halfRate } : {}),
    contention: { medianForeignCores: median(foreign), maxForeignCores: Math.max(0, ...foreign), points: foreign.length },
  },
  ...results,
  targets: checkTargets(results),
};
const files = writeResults(full, { partial: opts.partial });
const history = opts.partial ? undefined : appendWorkHistory(full);
if (history) files.push(history);
if (full.scale) files.push(writeScaleResults(full));
console.log(
  `\n${formatTable(resultRows(full))}\n\nPerformance targets (ratios to the bare route in this run):\n${formatTargets(full.targets)}`,
);
if (full.scale)
  console.log(
    `\nSaturation by configuration (a Postgres and a Redis of their own, closed loop at ${full.scale.connections} connections):\n${formatScaleTable(full.scale)}`,
  );
if (full.work) console.log(`\nWork per request (a Postgres and a Redis of their own):\n${formatWorkTable(full.work)}`);
if (full.baselineDrift)
  console.log(
    `\nbare route closed loop: ${full.baselineDrift.start.toFixed(0)}/s at the start of the run, ${full.baselineDrift.end.toFixed(0)}/s at the end`,
  );
console.log(
  `\nother processes used ${full.meta.contention.medianForeignCores.toFixed(2)} cores (median; max ${full.meta.contention.maxForeignCores.toFixed(2)}) of ${full.meta.cpus} while measuring`,
);
for (const p of full.cpuProfiles ?? [])
  console.log(
    `\nCPU profile ${p.file}:\n${p.top
      .slice(0, 12)
      .map((f) => `  ${f.selfPct.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}${calledFrom(f)}`)
      .join('\n')}`,
  );
if (results.failures.length) console.log(`\nFAILED scenarios: ${results.failures.map((f) => f.scenario).join(', ')}`);
console.log(`\nwrote ${files.join(', ')}`);
if (opts.docs) console.log(`wrote ${writeDocs().join(', ')}`);
process.exit(results.failures.length ? 1 : 0);
