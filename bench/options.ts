import { parseArgs } from 'node:util';

/** How long and how often each scenario measures; the two forms of `npm run bench`. */
export interface Profile {
  name: 'quick' | 'full';
  accounts: number;
  /** closed loop at this many connections, as fast as the server answers (the "at 100 connections") */
  saturation: { connections: number; ms: number };
  /**
   * Open-loop ladder: offered rates as fractions of the saturation throughput (ingest also as
   * fractions of the workers' drain pace), then bisections, and one probe above the grid when
   * everything passed; each point `reps` times.
   */
  ladder: {
    fractions: number[];
    drainFractions: number[];
    refinements: number;
    probeAbove: boolean;
    ms: number;
    reps: number;
    connections: number;
  };
  /** longest wait for the workers to catch up between ingest points */
  drainMaxMs: number;
  connections: { count: number; wave: number; processes: number; ms: number; reps: number };
  storm: { total: number; connections: number; reps: number };
  replay: { keys: number };
  e2e: { ms: number; reps: number; sockets: number };
  /** the work per request: payments at a fixed open-loop rate on a Postgres and a Redis of their own */
  work: { requests: number; rate: number; warmup: number };
  /** the capacity model's matrix (opt-in: --only=scale): saturation window per configuration, [API processes, workers] */
  scale: { windowMs: number; configs: [number, number][] };
  /** the dedicated memory run; 0: RSS is only sampled across the other scenarios */
  memoryMs: number;
  /** measure a run again when other processes took more than half a core during it (see measure.ts) */
  repeatContended: boolean;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  quick: {
    name: 'quick',
    accounts: 200,
    saturation: { connections: 100, ms: 2_000 },
    ladder: { fractions: [0.5, 0.85], drainFractions: [0.8], refinements: 1, probeAbove: false, ms: 4_000, reps: 1, connections: 256 },
    drainMaxMs: 6_000,
    connections: { count: 10_000, wave: 500, processes: 2, ms: 3_000, reps: 1 },
    storm: { total: 10_000, connections: 1_000, reps: 1 },
    replay: { keys: 1_000 },
    e2e: { ms: 4_000, reps: 1, sockets: 8 },
    work: { requests: 10_000, rate: 1_000, warmup: 1_000 },
    scale: { windowMs: 4_000, configs: [1, 2, 4].flatMap((apis) => [1, 2, 3, 4].map((workers): [number, number] => [apis, workers])) },
    memoryMs: 0,
    // a smoke test: contended runs are flagged in the table, not repeated, to stay well under 2 minutes
    repeatContended: false,
  },
  full: {
    name: 'full',
    accounts: 200,
    saturation: { connections: 100, ms: 5_000 },
    ladder: {
      fractions: [0.5, 0.7, 0.85, 1],
      drainFractions: [0.6, 0.8, 1],
      refinements: 2,
      probeAbove: true,
      ms: 10_000,
      reps: 3,
      connections: 256,
    },
    drainMaxMs: 30_000,
    connections: { count: 10_000, wave: 500, processes: 2, ms: 15_000, reps: 3 },
    storm: { total: 10_000, connections: 1_000, reps: 3 },
    replay: { keys: 5_000 },
    e2e: { ms: 15_000, reps: 3, sockets: 8 },
    work: { requests: 20_000, rate: 1_000, warmup: 1_000 },
    scale: { windowMs: 10_000, configs: [1, 2, 4].flatMap((apis) => [1, 2, 3, 4].map((workers): [number, number] => [apis, workers])) },
    memoryMs: 300_000,
    repeatContended: true,
  },
};

export const SCENARIOS = [
  'baseline',
  'ingest',
  'naive',
  'replay',
  'connections',
  'storm',
  'e2e',
  'gateway',
  'work',
  'memory',
  'scale',
] as const;
/** run only when asked for by --only: not part of either standard form */
const OPT_IN: readonly ScenarioName[] = ['scale'];
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Options {
  profile: Profile;
  only: Set<ScenarioName>;
  /** CPU-profile the API and worker processes (node --cpu-prof) and summarise the hot spots */
  cpuProfile: boolean;
  /** the sustained end-to-end rate to halve, when the ingest scenario is not part of this run */
  rate?: number;
  workers: number;
  database: string;
  pgServer: string;
  redisUrl: string;
  /** extra environment for the service processes, e.g. PG_POOL_SIZE=20 */
  serviceEnv: Record<string, string>;
  /** write docs/benchmarks.md and the chart from the results */
  docs: boolean;
  /**
   * --only, --set, --rate or --workers: not the form's standard run, so it writes bench/results/latest.json
   * only and leaves <form>.json alone; the docs show standard runs, and take from latest.json only the
   * sections no standard run has newer (latency per stage, gateway mode)
   */
  partial: boolean;
}

const USAGE = `usage: node bench/run.ts [--quick] [--only=ingest,storm,...] [--cpu-prof] [--rate=N]
       [--memory-seconds=N] [--workers=N] [--set KEY=VALUE]... [--db=name] [--pg=url] [--redis=url] [--no-docs]
scenarios: ${SCENARIOS.join(', ')}`;

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      rate: { type: 'string' },
      'memory-seconds': { type: 'string' },
      workers: { type: 'string', default: '1' },
      set: { type: 'string', multiple: true, default: [] },
      db: { type: 'string', default: 'idemq_bench' },
      pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      'no-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = new Set<ScenarioName>(values.only ? [] : SCENARIOS.filter((s) => !OPT_IN.includes(s)));
  for (const name of values.only?.split(',') ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario ${name}\n${USAGE}`);
    only.add(name as ScenarioName);
  }
  const serviceEnv: Record<string, string> = {};
  for (const pair of values.set) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--set expects KEY=VALUE, got ${pair}`);
    serviceEnv[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const positive = (v: string | undefined, what: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n > 0)) throw new Error(`${what} must be a positive number`);
    return n;
  };
  const profile = PROFILES[values.quick ? 'quick' : 'full'];
  const memorySeconds = positive(values['memory-seconds'], '--memory-seconds');
  const partial = Boolean(values.only) || Object.keys(serviceEnv).length > 0 || values.rate !== undefined || values.workers !== '1';
  return {
    profile: memorySeconds ? { ...profile, memoryMs: memorySeconds * 1000 } : profile,
    only,
    cpuProfile: values['cpu-prof'],
    rate: positive(values.rate, '--rate'),
    workers: positive(values.workers, '--workers')!,
    database: values.db,
    pgServer: values.pg,
    redisUrl: values.redis,
    serviceEnv,
    docs: !values['no-docs'],
    partial,
  };
}
