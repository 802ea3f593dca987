import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Options } from './options.ts';
import type { CpuProfileSummary } from './report/cpu-profile-summary.ts';
import type { TargetCheck } from './report/targets.ts';
import type { Capacity } from './scenarios/capacity.ts';
import type { ConnectionsResult } from './scenarios/connections.ts';
import type { E2eResult } from './scenarios/e2e.ts';
import type { GatewayResult } from './scenarios/gateway.ts';
import type { IngestResult } from './scenarios/ingest.ts';
import type { MemoryResult, RssTrend } from './scenarios/memory.ts';
import type { ReplayResult } from './scenarios/replay.ts';
import type { ScaleResult } from './scenarios/scale.ts';
import type { StormVariant } from './scenarios/storm.ts';
import type { WorkResult } from './scenarios/work.ts';

export const RESULTS_DIR = fileURLToPath(new URL('./results', import.meta.url));

export interface BenchResults {
  meta: {
    form: 'quick' | 'full';
    startedAt: string;
    durationS: number;
    commit: string;
    node: string;
    cpus: number;
    cpuModel: string;
    memGb: number;
    somaxconn: number;
    workers: number;
    serviceEnv: Record<string, string>;
    /** the server's autovacuum setting, or how the run stood in for it (bench/vacuum.ts) */
    autovacuum?: string;
    scenarios: string[];
    /** the sustained end-to-end rate the half-rate scenarios used, and where it came from */
    halfRate?: { rate: number; from: string };
    /** cores used by other processes on the machine (other engineers' tests), over the measured points */
    contention: { medianForeignCores: number; maxForeignCores: number; points: number };
  };
  baseline?: Capacity;
  ingest?: IngestResult;
  /** the naive path, measured like ingest */
  naive?: IngestResult;
  replay?: ReplayResult;
  connections?: ConnectionsResult;
  storm?: StormVariant[];
  e2e?: E2eResult;
  gateway?: GatewayResult;
  /** per request, end to end, on a Postgres and a Redis of their own */
  work?: WorkResult;
  /** Redis commands per job, as runs before the work scenario measured them */
  redis?: { jobs: number; perJob: Record<string, number>; totalPerJob: number; scriptsPerJob: number; redisUsecPerJob: number };
  memory?: MemoryResult;
  /** the capacity model's measurements (opt-in) */
  scale?: ScaleResult;
  /**
   * The bare route's closed-loop throughput measured again after the last scenario: how much the
   * machine's own speed moved during the run (a shared VM drifts by tens of percent).
   */
  baselineDrift?: { start: number; end: number };
  /** the API's RSS across the whole run, sampled every 2 s */
  apiRssOverRun?: RssTrend;
  targets: TargetCheck[];
  cpuProfiles?: CpuProfileSummary[];
  failures: { scenario: string; message: string }[];
}

export function machineMeta(opts: Options): Omit<BenchResults['meta'], 'startedAt' | 'durationS' | 'scenarios' | 'contention'> {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: dirname(RESULTS_DIR), encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  const dirty = git('status', '--porcelain', '--', ':/src', ':/workers', ':/examples') ? ' (src/, workers/ or examples/ modified)' : '';
  return {
    form: opts.profile.name,
    commit: git('rev-parse', '--short', 'HEAD') + dirty,
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGb: Math.round(os.totalmem() / 2 ** 30),
    somaxconn: Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8')),
    workers: opts.workers,
    serviceEnv: opts.serviceEnv,
  };
}

/** Writes the run as bench/results/latest.json and, for a standard run, bench/results/<form>.json. */
export function writeResults(results: BenchResults, opts: { partial: boolean }): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(results, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v), 2)}\n`;
  const files = [`${RESULTS_DIR}/latest.json`, ...(opts.partial ? [] : [`${RESULTS_DIR}/${results.meta.form}.json`])];
  for (const f of files) writeFileSync(f, json);
  return files;
}

/** The scale scenario's run, whatever else ran with it, as bench/results/scale.json (docs/scaling.md quotes it). */
export function writeScaleResults(results: BenchResults): string {
  const file = `${RESULTS_DIR}/scale.json`;
  writeFileSync(
    file,
    `${JSON.stringify({ meta: results.meta, scale: results.scale }, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v), 2)}\n`,
  );
  return file;
}

export function readResults(form: 'quick' | 'full' | 'latest'): BenchResults | undefined {
  try {
    return JSON.parse(readFileSync(`${RESULTS_DIR}/${form}.json`, 'utf8')) as BenchResults;
  } catch {
    return undefined;
  }
}
