/**
 * `npm run chaos [-- --short] [-- --redis-cluster] [-- --keep]`: the fault-injection proof that nothing is lost or done twice.
 *
 * Starts its OWN Postgres cluster (initdb + pg_ctl, as the postgres OS user when run as root) and
 * its OWN redis-server, on free loopback ports with data in a temporary folder, so it can restart
 * Postgres and wipe Redis freely: the shared services (5432, 6379) are never touched. Then it runs
 * the real processes of the ledger demo (migrate, the API `examples/ledger/api.ts`, two or three `examples/ledger/worker.ts`), opens a
 * fixed set of accounts and drives a bounded, paced load of payments between them (concurrent
 * duplicates, later replays of the same key, some deliberately unaffordable payments), treating
 * 503 and connection errors as "retry the same key later", and a smaller load of orders through a
 * forward route to an upstream in this process that counts effects by key (scripts/chaos/
 * counting-upstream.ts; it answers some attempts 503 or too late). Meanwhile, on a schedule: SIGKILLs
 * workers mid-job (and starts new ones), kills all workers at once, wipes Redis (shutdown nosave,
 * restart), restarts Postgres (fast and immediate) and SIGKILLs the API. Afterwards it waits
 * (bounded) for every request to finish, stops the processes with SIGTERM, checks from Postgres
 * alone (examples/ledger/chaos-checks.ts) and the upstream's counts (scripts/chaos/forward-checks.ts),
 * prints ONE line of figures and exits non-zero on any
 * violation. It stops by itself (hard time limit) and removes everything it started and wrote,
 * also on failure and on Ctrl-C; `--keep` keeps the temporary folder with the processes' logs.
 *
 * `--redis-cluster` runs the same on a private Redis Cluster (3 masters with a replica each,
 * scripts/chaos/private-redis-cluster.ts) with the queue in 3 shards: instead of wiping Redis it
 * SIGKILLs the master of a queue shard (its replica cut off a moment before, so acknowledged writes
 * are lost), waits for the promotion and restarts the killed node as a replica.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, stopGracefully, workerReady } from './chaos/app-processes.ts';
import { startCountingUpstream } from './chaos/counting-upstream.ts';
import { type FaultKind, type FaultRecord, type Fleet, injectFault, spawnApi, spawnWorker } from './chaos/faults.ts';
import { checkLedger, type OpenedAccount } from '../examples/ledger/chaos-checks.ts';
import { checkForward, type OrderPlan } from './chaos/forward-checks.ts';
import { type ApiClient, newLoadStats, type PaymentPlan, runPaymentLoad, submitUntilAccepted } from './chaos/payment-load.ts';
import { startPrivateRedisCluster } from './chaos/private-redis-cluster.ts';
import { freePort, startPrivatePostgres, startPrivateRedis } from './chaos/private-services.ts';
import { shardQueueNames } from '../src/queue/queue-shards.ts';
import { startRecoveryTracker } from './chaos/recovery-tracker.ts';

const K: FaultKind = 'worker-kill';
const PROFILES = {
  short: {
    payments: 2_000,
    ratePerSec: 30,
    orders: 300,
    ordersPerSec: 5,
    workers: 2,
    faults: [K, 'redis-loss', K, 'postgres-restart', 'kill-all-workers', 'api-kill', K] as FaultKind[],
    firstFaultMs: 5_000,
    faultSpacingMs: 9_000,
    drainMs: 90_000,
    hardLimitMs: 270_000,
  },
  long: {
    payments: 20_000,
    ratePerSec: 60,
    orders: 3_000,
    ordersPerSec: 10,
    workers: 3,
    faults: [
      K,
      'redis-loss',
      K,
      'postgres-restart',
      K,
      'api-kill',
      K,
      'redis-loss',
      'kill-all-workers',
      K,
      'postgres-restart',
      K,
      'api-kill',
      K,
      'redis-loss',
      K,
      K,
    ] as FaultKind[],
    firstFaultMs: 8_000,
    faultSpacingMs: 19_000,
    drainMs: 240_000,
    hardLimitMs: 1_200_000,
  },
};
/** on a cluster: the short run stays under about a minute of load and drain, for CI */
const CLUSTER_PROFILES = {
  short: {
    ...PROFILES.short,
    payments: 600,
    orders: 100,
    faults: ['redis-master-kill', K, 'redis-master-kill'] as FaultKind[],
    firstFaultMs: 4_000,
    faultSpacingMs: 8_000,
    drainMs: 40_000,
    hardLimitMs: 150_000,
  },
  long: { ...PROFILES.long, faults: PROFILES.long.faults.map((k): FaultKind => (k === 'redis-loss' ? 'redis-master-kill' : k)) },
};
const QUEUE_SHARDS = 3;
const CURRENCY = 'EUR';
const ACCOUNTS = 16;
const LEAN_ACCOUNTS = 4;
const OPENING = 1_000_000;
const LEAN_OPENING = 2_000;
/** graceful stop bound: SHUTDOWN_TIMEOUT_MS (10 s default) + the processes' own 5 s of slack */
const STOP_BOUND_MS = 16_000;

const args = new Set(process.argv.slice(2));
const profileName = args.has('--short') ? 'short' : 'long';
const onCluster = args.has('--redis-cluster');
const profile = (onCluster ? CLUSTER_PROFILES : PROFILES)[profileName];
const keep = args.has('--keep');
const log = (line: string) => process.stderr.write(`chaos: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err) => log(`clean-up step failed: ${String(err)}`));
  })();
  return cleaning;
}
async function abort(reason: string, code: number): Promise<never> {
  log(reason);
  await cleanUp();
  process.exit(code);
}
process.once('SIGINT', () => void abort('interrupted; stopping everything it started', 130));
process.once('SIGTERM', () => void abort('terminated; stopping everything it started', 143));
process.on('uncaughtException', (err) => void abort(`failed: ${err.stack ?? err}`, 1));
process.on('unhandledRejection', (err) => void abort(`failed: ${(err as Error)?.stack ?? err}`, 1));
setTimeout(
  () => void abort(`gave up: the ${profileName} run exceeded its hard limit of ${profile.hardLimitMs / 1000} s`, 1),
  profile.hardLimitMs,
).unref();

const runStarted = Date.now();
const tmp = mkdtempSync(join(tmpdir(), 'idemq-chaos-'));
// the postgres OS user must reach its data folder inside
chmodSync(tmp, 0o755);
cleanups.push(async () => (keep ? log(`kept ${tmp} (logs in ${tmp}/logs)`) : rmSync(tmp, { recursive: true, force: true })));
const logDir = join(tmp, 'logs');
mkdirSync(logDir);

log(`${profileName} run: private Postgres and ${onCluster ? 'Redis Cluster' : 'Redis'} in ${tmp}`);
const postgres = await startPrivatePostgres(join(tmp, 'pg'), 'idemq_chaos');
cleanups.push(() => postgres.destroy());
let redis: Fleet['redis'];
let redisEnv: Record<string, string>;
if (onCluster) {
  const cluster = await startPrivateRedisCluster(join(tmp, 'redis-cluster'));
  cleanups.push(() => cluster.destroy());
  const shardSlots = await Promise.all(shardQueueNames(QUEUE_SHARDS, true).map((name) => cluster.slotOf(name)));
  redis = { kind: 'cluster', cluster, shardSlots };
  redisEnv = { REDIS_CLUSTER_NODES: cluster.nodesEnv, QUEUE_SHARDS: String(QUEUE_SHARDS) };
} else {
  const server = await startPrivateRedis(join(tmp, 'redis'));
  cleanups.push(() => server.destroy());
  redis = { kind: 'standalone', server };
  redisEnv = { REDIS_URL: server.url };
}

// a forward route to an upstream that counts effects by key: some of its answers are 503s and some
// come after the route's timeout, so attempts are retried with the same key, besides the faults
const upstream = await startCountingUpstream({ failShare: 0.1, slowShare: 0.05, slowMs: 1_500 });
cleanups.push(() => upstream.close());
const routesFile = join(tmp, 'routes.json');
writeFileSync(
  routesFile,
  JSON.stringify([
    {
      name: 'orders.create',
      route: '/v1/orders',
      upstream: `${upstream.url}/orders`,
      timeoutMs: 1_000,
      maxAttempts: 100,
      retryBaseMs: 100,
      retryMaxMs: 2_000,
    },
  ]),
);

const secret = `sk_chaos_${randomBytes(12).toString('hex')}`;
const common = {
  DATABASE_URL: postgres.url,
  ...redisEnv,
  QUEUE_PREFIX: 'chaos',
  API_KEYS: `chaos:${secret}`,
  FORWARD_ROUTES_FILE: routesFile,
};
const apiPort = await freePort();
await migrate({ ...common, LOG_LEVEL: 'warn' }, logDir);

const fleet: Fleet = {
  api: undefined as never,
  apiUrl: `http://127.0.0.1:${apiPort}`,
  workers: [],
  pg: postgres,
  redis,
  env: {
    api: { ...common, HOST: '127.0.0.1', PORT: String(apiPort), ADMIN_PORT: '0', LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000000' },
    worker: { ...common, LOG_LEVEL: 'info' },
  },
  logDir,
  sigkills: { workers: 0, api: 0 },
  spawned: 0,
};
cleanups.push(async () => {
  for (const p of [fleet.api, ...fleet.workers]) if (p?.alive()) p.child.kill('SIGKILL');
});
await spawnApi(fleet);
await Promise.all(Array.from({ length: profile.workers }, () => workerReady(spawnWorker(fleet))));

const pool = new pg.Pool({ connectionString: postgres.url, max: 4, connectionTimeoutMillis: 2_000 });
pool.on('error', () => undefined);
pool.on('connect', (client) => client.on('error', () => undefined));
cleanups.push(() => pool.end());

const api: ApiClient = { baseUrl: fleet.apiUrl, secret };
const stats = newLoadStats();

/** Opens the accounts through the API itself (accounts.create, Prefer: wait) and reads their ids back. */
async function openAccounts(openings: number[]): Promise<OpenedAccount[]> {
  const deadline = Date.now() + 60_000;
  return Promise.all(
    openings.map(async (opening, i) => {
      const answer = await submitUntilAccepted(
        api,
        '/v1/accounts',
        { currency: CURRENCY, openingBalance: opening, name: `chaos-${i}` },
        `account-${i}`,
        stats,
        deadline,
        { prefer: 'wait=10' },
      );
      if (!answer) throw new Error(`could not open account ${i}`);
      for (;;) {
        const { rows } = await pool.query<{ status: string; result: { accountId: string } | null }>(
          'select status, result from idemq.requests where id = $1',
          [answer.id],
        );
        if (rows[0]?.status === 'succeeded') return { id: rows[0].result!.accountId, opening };
        if (rows[0]?.status === 'failed' || Date.now() > deadline) throw new Error(`account ${i} did not open: ${JSON.stringify(rows[0])}`);
        await sleep(100);
      }
    }),
  );
}
const openings = Array.from({ length: ACCOUNTS }, (_, i) => (i < LEAN_ACCOUNTS ? LEAN_OPENING : OPENING));
const accounts = await openAccounts([...openings, OPENING, OPENING]);
const [probeFrom, probeTo] = accounts.slice(ACCOUNTS);
const loadAccounts = accounts.slice(0, ACCOUNTS);
const allMoney = accounts.reduce((sum, a) => sum + a.opening, 0);

const plans: PaymentPlan[] = Array.from({ length: profile.payments }, (_, i) => {
  const from = loadAccounts[Math.floor(Math.random() * ACCOUNTS)]!;
  let to = from;
  while (to === from) to = loadAccounts[Math.floor(Math.random() * ACCOUNTS)]!;
  const doomed = Math.random() < 0.04;
  return {
    key: `pay-${i}`,
    body: {
      fromAccount: from.id,
      toAccount: to.id,
      amount: doomed ? allMoney + 1 : 1 + Math.floor(Math.random() * 5_000),
      currency: CURRENCY,
    },
    doomed,
    ids: new Set<string>(),
  };
});
const probePlans: PaymentPlan[] = [];

log(
  `${accounts.length} accounts open; ${profile.payments} payments at ${profile.ratePerSec}/s, ${profile.faults.length} faults, ${profile.workers} workers`,
);
const tracker = startRecoveryTracker(pool);
const loadStarted = Date.now();
const deadline = runStarted + profile.hardLimitMs - profile.drainMs - 30_000;
const load = runPaymentLoad({
  api,
  plans,
  ratePerSec: profile.ratePerSec,
  maxInFlight: 200,
  concurrentCopies: 0.1,
  replays: 0.2,
  deadline,
  stats,
});
const orderPlans: OrderPlan[] = Array.from({ length: profile.orders }, (_, i) => ({
  key: `order-${i}`,
  body: { sku: `sku-${i % 50}`, quantity: 1 + (i % 3) },
  ids: new Set<string>(),
}));
const orderStats = newLoadStats();
const orderLoad = runPaymentLoad({
  api,
  path: '/v1/orders',
  plans: orderPlans,
  ratePerSec: profile.ordersPerSec,
  maxInFlight: 50,
  concurrentCopies: 0.1,
  replays: 0.2,
  deadline,
  stats: orderStats,
});
const faults: FaultRecord[] = [];
for (const [i, kind] of profile.faults.entries()) {
  const due = loadStarted + profile.firstFaultMs + i * profile.faultSpacingMs;
  if (due > Date.now()) await sleep(due - Date.now());
  const ordinal = profile.faults.slice(0, i).filter((k) => k === kind).length;
  const fault = await injectFault(
    kind,
    fleet,
    { api, from: probeFrom!.id, to: probeTo!.id, currency: CURRENCY, plans: probePlans, stats },
    ordinal,
  );
  faults.push(fault);
  tracker.track(fault);
  log(
    `fault ${i + 1}/${profile.faults.length} at ${Math.round((fault.startedAt - loadStarted) / 1000)} s: ${kind} (${fault.detail}), back after ${fault.endedAt - fault.startedAt} ms`,
  );
}
await Promise.all([load, orderLoad]);
log(`load done after ${Math.round((Date.now() - loadStarted) / 1000)} s; waiting for every request to finish`);

const drainDeadline = Date.now() + profile.drainMs;
for (;;) {
  const unfinished = await pool
    .query<{ n: string }>(`select count(*) as n from idemq.requests where status in ('queued', 'processing')`)
    .then(
      (r) => Number(r.rows[0]!.n),
      () => -1,
    );
  if (unfinished === 0 || Date.now() > drainDeadline) break;
  await sleep(250);
}
await sleep(500);
await tracker.stop();
const resumes = (await Promise.all(faults.map((f) => f.resumeMs))).filter((ms): ms is number => ms !== undefined);
const byKind = new Map<FaultKind, number[]>();
for (const r of tracker.recoveries) byKind.set(r.fault.kind, [...(byKind.get(r.fault.kind) ?? []), r.completeAfterMs ?? NaN]);
log(
  `all requests accepted before a fault were finished after (ms): ${[...byKind].map(([kind, ms]) => `${kind} ${ms.join('/')}`).join(', ')}`,
);

// graceful shutdown of every process, within its bound and with exit code 0
const violations: string[] = [];
let shutdownMaxMs = 0;
for (const p of [fleet.api, ...fleet.workers]) {
  const { ms, code } = await stopGracefully(p, STOP_BOUND_MS);
  shutdownMaxMs = Math.max(shutdownMaxMs, ms);
  if (code !== 0) violations.push(`${p.name} did not shut down cleanly on SIGTERM (exit ${code ?? 'killed'} after ${ms} ms)`);
}

violations.push(...(await checkLedger(pool, [...plans, ...probePlans], accounts)));
violations.push(...stats.anomalies, ...orderStats.anomalies);
const forward = await checkForward(pool, 'chaos', orderPlans, upstream);
violations.push(...forward.violations);
for (const f of tracker.recoveries)
  if (f.completeAfterMs === undefined)
    violations.push(`requests accepted before the ${f.fault.kind} at ${new Date(f.fault.startedAt).toISOString()} never all finished`);
for (const v of violations.slice(0, 30)) log(`violation: ${v}`);
if (violations.length > 30) log(`… and ${violations.length - 30} more violations`);

const count = (kind: FaultKind) => faults.filter((f) => f.kind === kind).length;
const maxComplete = Math.max(0, ...tracker.recoveries.map((r) => r.completeAfterMs ?? 0));
const accepted = [...plans, ...probePlans].filter((p) => p.ids.size > 0).length;
console.log(
  [
    `chaos ${profileName}${onCluster ? ' redis-cluster' : ''}:`,
    `accepted=${accepted}/${plans.length + probePlans.length}`,
    `posts=${stats.sent}`,
    `duplicates=${stats.duplicates}`,
    `retries=${stats.retried} (503=${stats.unavailable} conn_errors=${stats.connectionErrors})`,
    `faults=${faults.length} (worker_kill=${count('worker-kill')} kill_all=${count('kill-all-workers')} ${onCluster ? `redis_master_kill=${count('redis-master-kill')}` : `redis_loss=${count('redis-loss')}`} pg_restart=${count('postgres-restart')} api_kill=${count('api-kill')}; sigkill workers=${fleet.sigkills.workers} api=${fleet.sigkills.api})`,
    `forward=${forward.figures.accepted}/${forward.figures.keys} (effects=${forward.figures.effects} attempts=${forward.figures.attempts} same_key_retries=${forward.figures.sameKeyRetries} deduped=${forward.figures.deduped} overlaps=${forward.figures.overlaps})`,
    `max_complete_after_fault_ms=${maxComplete}`,
    `resume_after_sigkill_ms=${resumes.length ? `${Math.min(...resumes)}-${Math.max(...resumes)}` : 'n/a'}`,
    `shutdown_max_ms=${shutdownMaxMs}`,
    `duration_s=${Math.round((Date.now() - runStarted) / 1000)}`,
    `violations=${violations.length}`,
  ].join(' '),
);
await cleanUp();
process.exit(violations.length > 0 ? 1 : 0);
