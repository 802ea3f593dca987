import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startPrivatePostgres, startPrivateRedis } from '../../scripts/chaos/private-services.ts';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { databaseUrl, recreateDatabase } from '../database.ts';
import type { Target } from '../load/connection-pool.ts';
import { freePort, type Service, startScript, stopServices, waitHttpReady } from '../services.ts';
import { stopChild } from '../spawn.ts';
import { processCpuMs, processTreeCpuMs } from '../system/proc-ticks.ts';
import type { CpuReading, Snapshot } from './figures.ts';
import { createPgCounterProbe } from './pg-counters.ts';
import { readRedisCounters, redisClientsByName } from './redis-counters.ts';

export const STACK_DATABASE = 'idemq_work';
/** one login role per kind of process, so pg_stat_statements tells their statements apart */
export const ROLES = { api: 'idemq_api', worker: 'idemq_worker', probe: 'bench_probe' };

/**
 * A Postgres (pg_stat_statements loaded, autovacuum off) and a redis-server of their own, with
 * the ledger's API and worker processes started and stopped on them at will: nothing else moves
 * their counters, and their CPU is all the service's.
 */
export async function createPrivateStack(opts: { env?: Record<string, string> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'idemq-bench-work-'));
  chmodSync(dir, 0o755); // the private Postgres runs as the postgres user, who must reach its data directory
  const cleanup: (() => Promise<unknown>)[] = [];
  let apis: Service[] = [];
  let workers: Service[] = [];
  const close = async () => {
    await stopServices([...apis, ...workers]);
    for (const step of cleanup) await step().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const postgres = await startPrivatePostgres(join(dir, 'pg'), STACK_DATABASE, {
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track_utility': 'on',
      // counts must not depend on when autovacuum happens to run
      autovacuum: 'off',
    });
    cleanup.push(() => postgres.destroy());
    const redis = await startPrivateRedis(join(dir, 'redis'));
    cleanup.push(() => redis.destroy());
    const url = await recreateDatabase(databaseUrl(postgres.url, 'postgres'), STACK_DATABASE);
    await prepareDatabase(url);
    const as = (role: string) => Object.assign(new URL(url), { username: role }).toString();
    const probe = await createPgCounterProbe(as(ROLES.probe));
    cleanup.unshift(() => probe.close());
    const admin = new Redis(redis.url, REDIS_PROTOCOL);
    cleanup.unshift(async () => admin.disconnect());
    const postmaster = Number(readFileSync(join(postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const secret = `sk_bench_${randomBytes(12).toString('hex')}`;
    const env = (role: string, port: number): NodeJS.ProcessEnv => ({
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
      // the load generators are all one address
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '100000',
      ...opts.env,
    });
    const sum = (list: Service[]) => list.reduce((t, s) => t + processCpuMs(s.pid), 0);
    const stack = {
      postgres,
      redis,
      probe,
      admin,
      secret,
      targets: [] as Target[],
      get pids() {
        return [...apis, ...workers].map((s) => s.pid);
      },
      /** Starts `apis` API processes (each on a port of its own) and `workers` worker processes. */
      async start(counts: { apis: number; workers: number }): Promise<void> {
        const ports = await Promise.all(Array.from({ length: counts.apis }, () => freePort()));
        apis = ports.map((port, i) => startScript(`work-api-${i + 1}`, 'examples/ledger/api.ts', { env: env(ROLES.api, port) }));
        workers = Array.from({ length: counts.workers }, (_, i) =>
          startScript(`work-worker-${i + 1}`, 'examples/ledger/worker.ts', { env: env(ROLES.worker, 0) }),
        );
        stack.targets = ports.map((port) => ({ host: '127.0.0.1', port }));
        // generous: on a shared machine under load, four API processes can take long to start
        await Promise.all(apis.map((api, i) => waitHttpReady(api, `http://127.0.0.1:${ports[i]}/readyz`, 120_000)));
      },
      async stopWorkers(): Promise<void> {
        await Promise.all(workers.map((w) => stopChild(w.child, 15_000)));
      },
      async stop(): Promise<void> {
        await stopServices([...apis, ...workers]);
        apis = [];
        workers = [];
        stack.targets = [];
      },
      /** CPU time so far: the API processes together, the workers together, Postgres, Redis */
      cpu(): CpuReading {
        return { api: sum(apis), worker: sum(workers), postgres: processTreeCpuMs(postmaster), redis: processCpuMs(redis.pid() ?? 0) };
      },
      /** CPU time so far of each API process and each worker, by pid */
      perProcess(): { api: Record<number, number>; worker: Record<number, number> } {
        const byPid = (list: Service[]) => Object.fromEntries(list.map((s) => [s.pid, processCpuMs(s.pid)]));
        return { api: byPid(apis), worker: byPid(workers) };
      },
      async snapshot(): Promise<Snapshot> {
        return { pg: await probe.read(), redis: await readRedisCounters(admin), cpu: stack.cpu() };
      },
      /** Open connections: Postgres by role and application name (pids dropped), Redis by client name. */
      async connections(): Promise<{ postgres: Record<string, number>; redis: Record<string, number> }> {
        const rows = await probe.query<{ who: string; n: string }>(
          `select usename || ' ' || regexp_replace(application_name, '-[0-9]+$', '') as who, count(*) as n
             from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() group by 1 order by 1`,
        );
        return { postgres: Object.fromEntries(rows.map((r) => [r.who, Number(r.n)])), redis: await redisClientsByName(admin) };
      },
      /** Waits until `count` requests are terminal. */
      async untilTerminal(count: number, timeoutMs = 120_000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        while ((await probe.terminal()) < count) {
          if (Date.now() > deadline) throw new Error(`requests still unfinished ${timeoutMs / 1000} s after the load`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      close,
    };
    return stack;
  } catch (err) {
    await close();
    throw err;
  }
}

export type PrivateStack = Awaited<ReturnType<typeof createPrivateStack>>;

/** pg_stat_statements in the database, and the roles the processes and the probe log in as. */
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
