import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startPrivatePostgres, startPrivateRedis } from '../../scripts/chaos/private-services.ts';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { createAccounts } from '../accounts.ts';
import { databaseUrl, recreateDatabase } from '../database.ts';
import type { Target } from '../load/connection-pool.ts';
import type { RequestPlan } from '../load/request-plan.ts';
import { runLoadProcesses } from '../load/run-load.ts';
import type { Profile } from '../options.ts';
import { freePort, type Service, startScript, stopServices, waitHttpReady } from '../services.ts';
import { stopChild } from '../spawn.ts';
import { startCpuMeter } from '../system/cpu-meter.ts';
import { processCpuMs, processTreeCpuMs } from '../system/proc-ticks.ts';
import { type CpuReading, type Snapshot, type WorkFigures, workFigures } from '../work/figures.ts';
import { createPgCounterProbe, type PgCounterProbe } from '../work/pg-counters.ts';
import { readRedisCounters, redisClientsByName } from '../work/redis-counters.ts';

const DATABASE = 'idemq_work';
const ROLES = { api: 'idemq_api', worker: 'idemq_worker', probe: 'bench_probe' };
const ACCOUNTS = 50;
/** Postgres backends publish their counters when idle, at the latest 10 s after the last flush */
const SETTLE_MS = 11_000;

export interface WorkResult {
  /** first requests of fresh keys, end to end */
  submit: WorkFigures;
  /** the same keys again, all completed: replays */
  replay: WorkFigures;
  /** growth of each table with its indexes over the submit pass, bytes per key (no vacuum ran) */
  bytesPerKey: Record<string, number>;
  /** Redis used_memory per job: queued with no worker running, and completed (kept by removeOnComplete) */
  redisMemory: { waitingPerJob: number; waitingJobs: number; completedPerJob: number };
  /** open connections at the end: Postgres by role and application name, Redis by client name */
  connections: { postgres: Record<string, number>; redis: Record<string, number> };
}

/**
 * Counts the work behind one request, end to end: an API process and a worker process on a
 * Postgres and a Redis of their own (so nothing else moves their counters), after a warm-up, run
 * `requests` payments at a fixed open-loop rate to completion, then replay the same keys. Every
 * counter (tuples, WAL, statements, Redis commands, CPU of each process) is read before and after
 * each pass and divided by the requests.
 */
export async function runWork(profile: Profile['work'], log: (line: string) => void): Promise<WorkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'idemq-bench-work-'));
  chmodSync(dir, 0o755); // the private Postgres runs as the postgres user, who must reach its data directory
  const services: Service[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const postgres = await startPrivatePostgres(join(dir, 'pg'), DATABASE, {
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track_utility': 'on',
      // counts must not depend on when autovacuum happens to run; the window is minutes long
      autovacuum: 'off',
    });
    cleanup.push(() => postgres.destroy());
    const redis = await startPrivateRedis(join(dir, 'redis'));
    cleanup.push(() => redis.destroy());
    const server = databaseUrl(postgres.url, 'postgres');
    const url = await recreateDatabase(server, DATABASE);
    await prepareDatabase(url);
    const as = (role: string) => Object.assign(new URL(url), { username: role }).toString();

    const port = await freePort();
    const secret = `sk_bench_${randomBytes(12).toString('hex')}`;
    const env = (role: string): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: as(role),
      REDIS_URL: redis.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      ADMIN_PORT: '0',
      API_KEYS: `bench:${secret}`,
      QUEUE_PREFIX: 'work',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: String(Number.MAX_SAFE_INTEGER),
    });
    const api = startScript('work-api', 'examples/ledger/api.ts', { env: env(ROLES.api) });
    services.push(api);
    const worker = startScript('work-worker', 'examples/ledger/worker.ts', { env: env(ROLES.worker) });
    services.push(worker);
    const target: Target = { host: '127.0.0.1', port };
    await waitHttpReady(api, `http://${target.host}:${target.port}/readyz`);

    const probe = await createPgCounterProbe(as(ROLES.probe));
    cleanup.unshift(() => probe.close());
    const admin = new Redis(redis.url, REDIS_PROTOCOL);
    cleanup.unshift(async () => admin.disconnect());
    const postmaster = Number(readFileSync(join(postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const cpu = (): CpuReading => ({
      api: processCpuMs(api.pid),
      worker: processCpuMs(worker.pid),
      postgres: processTreeCpuMs(postmaster),
      redis: processCpuMs(redis.pid() ?? 0),
    });
    const snapshot = async (): Promise<Snapshot> => ({ pg: await probe.read(), redis: await readRedisCounters(admin), cpu: cpu() });

    const accounts = await createAccounts(target, secret, ACCOUNTS, 'work');
    const plan = (prefix: string, keys: RequestPlan['keys']): RequestPlan => ({ path: '/v1/payments', secret, accounts, currency: 'USD', keyPrefix: prefix, keys });
    const load = async (p: RequestPlan, count: number) => {
      const res = await runLoadProcesses({
        target,
        connections: 32,
        wave: 32,
        mode: { kind: 'rate', rate: profile.rate, durationMs: (count / profile.rate) * 1000 },
        plan: p,
        shard: { index: 0, count: 1 },
        keepBodies: false,
        timeoutMs: 10_000,
      });
      const ok = Object.entries(res.status).filter(([code]) => code.startsWith('2')).reduce((t, [, k]) => t + k, 0);
      if (ok !== count) throw new Error(`work: ${ok} of ${count} requests answered 2xx (${JSON.stringify(res.status)}, errors ${JSON.stringify(res.errors)})`);
    };
    let finished = ACCOUNTS;
    const untilTerminal = async (count: number) => {
      finished += count;
      const deadline = Date.now() + 120_000;
      while ((await probe.terminal()) < finished) {
        if (Date.now() > deadline) throw new Error(`work: requests still unfinished 120 s after the load`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const pass = async (name: string, p: RequestPlan, terminal: boolean): Promise<{ figures: WorkFigures; a: Snapshot; b: Snapshot }> => {
      const a = await snapshot();
      const meter = startCpuMeter({ mine: (pid, ppid) => (pid === api.pid || pid === worker.pid || pid === process.pid || ppid === process.pid ? 'mine' : undefined), database: DATABASE });
      const started = performance.now();
      await load(p, profile.requests);
      if (terminal) await untilTerminal(profile.requests);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const b = await snapshot();
      const figures = workFigures(a, b, { requests: profile.requests, rate: profile.rate, seconds: (performance.now() - started) / 1000, cpu: meter.stop(), roles: ROLES });
      log(`work, ${name}: ${describe(figures)}`);
      return { figures, a, b };
    };

    log(`work: warm-up, ${profile.warmup} payments at ${profile.rate}/s on a private Postgres (port ${postgres.port}) and Redis (port ${redis.port})`);
    await load(plan('work-warm', { mode: 'fresh' }), profile.warmup);
    await untilTerminal(profile.warmup);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const submit = await pass('first requests', plan('work-pay', { mode: 'fresh' }), true);
    const replay = await pass('replays', plan('work-pay', { mode: 'cycle', count: profile.requests }), false);

    const connections = { postgres: await postgresConnections(probe), redis: await redisClientsByName(admin) };
    // jobs waiting: the worker stopped, a batch is accepted and stays queued in Redis
    await stopChild(worker.child, 15_000);
    const before = (await readRedisCounters(admin)).usedMemory;
    const waitingJobs = Math.min(1_000, profile.requests);
    await load(plan('work-waiting', { mode: 'fresh' }), waitingJobs);
    const waitingPerJob = ((await readRedisCounters(admin)).usedMemory - before) / waitingJobs;

    const bytesPerKey = Object.fromEntries(
      Object.entries(submit.b.pg.bytes)
        .map(([t, bytes]): [string, number] => [t, (bytes - (submit.a.pg.bytes[t] ?? 0)) / profile.requests])
        .filter(([, b]) => b > 0),
    );
    return {
      submit: submit.figures,
      replay: replay.figures,
      bytesPerKey,
      redisMemory: { waitingPerJob, waitingJobs, completedPerJob: (submit.b.redis.usedMemory - submit.a.redis.usedMemory) / profile.requests },
      connections,
    };
  } finally {
    await stopServices(services);
    for (const step of cleanup) await step().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** pg_stat_statements in the database, and one role per process so its statements are told apart. */
async function prepareDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('create extension if not exists pg_stat_statements');
    for (const role of Object.values(ROLES)) await client.query(`create role ${role} login superuser`);
  } finally {
    await client.end();
  }
}

async function postgresConnections(probe: PgCounterProbe): Promise<Record<string, number>> {
  const rows = await probe.query<{ who: string; n: string }>(
    `select usename || ' ' || application_name as who, count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() group by 1 order by 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.who, Number(r.n)]));
}

function describe(f: WorkFigures): string {
  const t = f.pg.tuples;
  return (
    `${f.requests} at ${f.rate}/s; per request: tuples +${t.ins.toFixed(2)} ~${t.upd.toFixed(2)} (HOT ${t.hot.toFixed(2)}) -${t.del.toFixed(2)}, ` +
    `WAL ${f.pg.walBytes.toFixed(0)} B in ${f.pg.walRecords.toFixed(1)} records, ${f.pg.transactions.toFixed(2)} transactions, ` +
    `statements api ${f.pg.statements.api.toFixed(2)} worker ${f.pg.statements.worker.toFixed(2)}, Redis ${f.redis.total.toFixed(2)} commands (${f.redis.lua.toFixed(2)} Lua), ` +
    `CPU ms api ${f.cpuMs.api.toFixed(3)} worker ${f.cpuMs.worker.toFixed(3)} postgres ${f.cpuMs.postgres.toFixed(3)} redis ${f.cpuMs.redis.toFixed(3)} = ${f.cpuMs.total.toFixed(3)}; foreign ${f.foreignCores.toFixed(2)} cores`
  );
}
