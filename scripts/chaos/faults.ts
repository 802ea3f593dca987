import pg from 'pg';
import { type AppProcess, apiReady, spawnApp } from './app-processes.ts';
import { type ApiClient, type LoadStats, type PaymentPlan, submitUntilAccepted } from './payment-load.ts';
import type { PrivateRedisCluster } from './private-redis-cluster.ts';
import type { PrivatePostgres, PrivateRedis } from './private-services.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);

export type FaultKind = 'worker-kill' | 'kill-all-workers' | 'redis-loss' | 'redis-master-kill' | 'postgres-restart' | 'api-kill';

export interface FaultRecord {
  kind: FaultKind;
  detail: string;
  /** when the fault began (the kill, the shutdown) */
  startedAt: number;
  /** when the service was back (replacement started, server up again) */
  endedAt: number;
  /** worker-kill only: ms from the SIGKILL until the request the killed worker held was terminal */
  resumeMs?: Promise<number | undefined>;
}

/** The processes of the run and how to replace them. */
export interface Fleet {
  api: AppProcess;
  apiUrl: string;
  workers: AppProcess[];
  pg: PrivatePostgres;
  /** the standalone Redis, or (--redis-cluster) the cluster whose masters are killed */
  redis: { kind: 'standalone'; server: PrivateRedis } | { kind: 'cluster'; cluster: PrivateRedisCluster; shardSlots: number[] };
  env: { api: Record<string, string>; worker: Record<string, string> };
  logDir: string;
  /** SIGKILLs sent to worker processes, and to API processes */
  sigkills: { workers: number; api: number };
  spawned: number;
}

export function spawnWorker(fleet: Fleet): AppProcess {
  const p = spawnApp('examples/ledger/worker.ts', `worker-${++fleet.spawned}`, fleet.env.worker, fleet.logDir);
  fleet.workers.push(p);
  return p;
}

export async function spawnApi(fleet: Fleet): Promise<void> {
  fleet.api = spawnApp('examples/ledger/api.ts', `api-${++fleet.spawned}`, fleet.env.api, fleet.logDir);
  await apiReady(fleet.api, fleet.apiUrl);
}

function sigkill(fleet: Fleet, p: AppProcess): void {
  p.child.kill('SIGKILL');
  fleet.sigkills.workers++;
  fleet.workers = fleet.workers.filter((w) => w !== p);
}

/** What the worker-kill probe needs: two accounts the load never touches, and where to record its payments. */
export interface ProbeContext {
  api: ApiClient;
  from: string;
  to: string;
  currency: string;
  plans: PaymentPlan[];
  stats: LoadStats;
}

/**
 * SIGKILLs the worker that is, provably, in the middle of a job: the probe holds the row lock of
 * its own account, submits a payment from it, finds the worker process whose backend waits behind
 * that lock (application_name idemq-worker-<pid>), kills it, starts a replacement and lets the
 * lock go. The probe payment's time to terminal from the kill is the resume time after SIGKILL.
 */
async function killWorkerMidJob(fleet: Fleet, probe: ProbeContext): Promise<FaultRecord> {
  const lock = new pg.Client({ connectionString: fleet.pg.url, application_name: 'chaos-probe-lock' });
  lock.on('error', () => undefined);
  await lock.connect();
  try {
    await lock.query('begin');
    await lock.query('select 1 from ledger.accounts where id = $1 for update', [probe.from]);
    const {
      rows: [me],
    } = await lock.query<{ pid: number }>('select pg_backend_pid() as pid');
    const plan: PaymentPlan = {
      key: `probe-${probe.plans.length + 1}`,
      body: { fromAccount: probe.from, toAccount: probe.to, amount: 1, currency: probe.currency },
      doomed: false,
      ids: new Set(),
    };
    probe.plans.push(plan);
    const answer = await submitUntilAccepted(probe.api, '/v1/payments', plan.body, plan.key, probe.stats, Date.now() + 30_000);
    if (answer) plan.ids.add(answer.id);
    let victim: AppProcess | undefined;
    for (const deadline = Date.now() + 15_000; !victim && Date.now() < deadline; await sleep(50)) {
      const { rows } = await lock.query<{ app: string }>(
        `select application_name as app from pg_stat_activity where $1 = any(pg_blocking_pids(pid)) and application_name like 'idemq-worker-%'`,
        [me!.pid],
      );
      const pids = rows.map((r) => Number(r.app.slice('idemq-worker-'.length)));
      victim = fleet.workers.find((w) => pids.includes(w.pid) && w.alive());
    }
    const caught = victim !== undefined;
    victim ??= fleet.workers[Math.floor(Math.random() * fleet.workers.length)]!;
    const startedAt = Date.now();
    sigkill(fleet, victim);
    spawnWorker(fleet);
    const endedAt = Date.now();
    await lock.query('rollback');
    const resumeMs = caught && answer ? timeToTerminal(fleet.pg.url, answer.id, startedAt) : Promise.resolve(undefined);
    return {
      kind: 'worker-kill',
      detail: `${victim.name}${caught ? ' mid-job' : ' (probe not caught: random kill)'}`,
      startedAt,
      endedAt,
      resumeMs,
    };
  } finally {
    await lock.end().catch(() => undefined);
  }
}

/** Polls one request until it is terminal; ms since `since`, or undefined after two minutes. */
async function timeToTerminal(url: string, id: string, since: number): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(50)) {
      const { rows } = await client.query<{ status: string }>('select status from idemq.requests where id = $1', [id]);
      if (rows[0] && (rows[0].status === 'succeeded' || rows[0].status === 'failed')) return Date.now() - since;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Injects one fault and returns once the service is back (or its replacement started); `ordinal` counts earlier faults of its kind. */
export async function injectFault(kind: FaultKind, fleet: Fleet, probe: ProbeContext, ordinal: number): Promise<FaultRecord> {
  switch (kind) {
    case 'worker-kill':
      return killWorkerMidJob(fleet, probe);
    case 'kill-all-workers': {
      const count = fleet.workers.length;
      const startedAt = Date.now();
      for (const w of [...fleet.workers]) sigkill(fleet, w);
      await sleep(1_000);
      for (let i = 0; i < count; i++) spawnWorker(fleet);
      return { kind, detail: `${count} workers at once`, startedAt, endedAt: Date.now() };
    }
    case 'redis-loss': {
      if (fleet.redis.kind !== 'standalone') throw new Error('redis-loss needs a standalone Redis');
      const down = between(1_500, 4_000);
      const startedAt = Date.now();
      await fleet.redis.server.shutdown();
      await sleep(down);
      await fleet.redis.server.start();
      return { kind, detail: `shutdown nosave, down ${Math.round(down)} ms`, startedAt, endedAt: Date.now() };
    }
    case 'redis-master-kill': {
      if (fleet.redis.kind !== 'cluster') throw new Error('redis-master-kill needs a Redis Cluster');
      const { cluster, shardSlots } = fleet.redis;
      // the master of one queue shard in turn; its replica lags first, so acknowledged writes are lost
      const victim = await cluster.masterOf(shardSlots[ordinal % shardSlots.length]!);
      let startedAt = Date.now();
      const { promoted, promotionMs } = await cluster.killMaster(victim, { replicaLagMs: 300, onKilled: () => (startedAt = Date.now()) });
      const endedAt = Date.now();
      await cluster.restart(victim);
      return {
        kind,
        detail: `SIGKILL master :${victim}, replica :${promoted} promoted after ${promotionMs} ms, killed node back as a replica`,
        startedAt,
        endedAt,
      };
    }
    case 'postgres-restart': {
      // alternate a clean fast shutdown and a crash (immediate: recovery from WAL on start)
      const mode = ordinal % 2 === 0 ? 'fast' : 'immediate';
      const down = between(1_500, 3_500);
      const startedAt = Date.now();
      await fleet.pg.stop(mode);
      await sleep(down);
      await fleet.pg.start();
      return { kind, detail: `${mode}, down ${Math.round(down)} ms`, startedAt, endedAt: Date.now() };
    }
    case 'api-kill': {
      const startedAt = Date.now();
      fleet.api.child.kill('SIGKILL');
      fleet.sigkills.api++;
      await fleet.api.exited;
      await spawnApi(fleet);
      return { kind, detail: 'SIGKILL, restarted', startedAt, endedAt: Date.now() };
    }
  }
}
