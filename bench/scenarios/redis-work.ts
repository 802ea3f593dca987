import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startPrivateRedis } from '../../scripts/chaos/private-services.ts';
import { ledger } from '../../examples/ledger/app.ts';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createApiDeps } from '../../src/deps.ts';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { startWorker } from '../../workers/start-worker.ts';
import { dropDatabase, recreateDatabase } from '../database.ts';

const DATABASE = 'idemq_bench_redis';
const SECRET = 'sk_bench_redis_work';

export interface RedisWork {
  jobs: number;
  /** accept of the first to terminal of the last, API and worker in this one process */
  seconds: number;
  /** Redis commands per job, all connections together, by command (INFO commandstats) */
  perJob: Record<string, number>;
  totalPerJob: number;
  /** Lua calls per job: evalsha, eval and fcall */
  scriptsPerJob: number;
  /** Redis's own time per job, in microseconds */
  redisUsecPerJob: number;
}

/**
 * What one job costs Redis, end to end: an API and a worker (in this process) on a redis-server of
 * their own, so that INFO commandstats counts only them, and a database of their own. After a
 * warm-up, `jobs` payments are submitted in waves and run to completion; the commands Redis served
 * meanwhile (enqueue, fetch, lock renewal, completion, outbox publishes, the reconciler's and the
 * stalled check's periodic calls) are divided by the jobs.
 */
export async function runRedisWork(opts: { pgServer: string; jobs: number; log(line: string): void }): Promise<RedisWork> {
  const dir = mkdtempSync(join(tmpdir(), 'idemq-bench-redis-'));
  const redis = await startPrivateRedis(dir);
  const admin = new Redis(redis.url, REDIS_PROTOCOL);
  const silent = pino({ level: 'silent' });
  const config = loadConfig({
    DATABASE_URL: await recreateDatabase(opts.pgServer, DATABASE),
    REDIS_URL: redis.url,
    API_KEYS: `bench:${SECRET}`,
    QUEUE_PREFIX: 'bench-redis',
    RATE_LIMIT_PER_MINUTE: String(Number.MAX_SAFE_INTEGER),
  });
  const api = await createApiDeps(config, silent, [ledger.migrations!]);
  const app = await buildApp(api.deps, { operations: ledger.operations, routes: ledger.routes });
  const worker = await startWorker(config, silent, { operations: ledger.operations, migrations: [ledger.migrations!] });
  try {
    const post = (url: string, body: object, key: string, wait = false) =>
      app.inject({
        method: 'POST',
        url,
        headers: { authorization: `Bearer ${SECRET}`, 'idempotency-key': key, ...(wait ? { prefer: 'wait=30' } : {}) },
        payload: body,
      });
    const open = async (key: string) => (await post('/v1/accounts', { currency: 'USD', openingBalance: opts.jobs * 10 }, key, true)).json().result.accountId as string;
    const [a, b] = [await open('a'), await open('b')];
    const pay = (key: string) => post('/v1/payments', { fromAccount: a, toAccount: b, amount: 1, currency: 'USD' }, key);
    for (let i = 0; i < 50; i++) await pay(`warm-${i}`);
    await waitForTerminal(api.deps.db, 52);

    await admin.config('RESETSTAT');
    const started = performance.now();
    for (let i = 0; i < opts.jobs; i += 200) {
      const wave = Array.from({ length: Math.min(200, opts.jobs - i) }, (_, j) => pay(`job-${i + j}`));
      for (const res of await Promise.all(wave)) if (res.statusCode !== 202) throw new Error(`payment answered ${res.statusCode}: ${res.body}`);
    }
    await waitForTerminal(api.deps.db, 52 + opts.jobs);
    const seconds = (performance.now() - started) / 1000;
    const stats = parseCommandStats((await admin.info('commandstats')) as string);
    stats.delete('info');
    const perJob = Object.fromEntries([...stats].map(([cmd, s]): [string, number] => [cmd, s.calls / opts.jobs]).sort((x, y) => y[1] - x[1]));
    const sum = (pick: (s: { calls: number; usec: number }) => number, only?: string[]) =>
      [...stats].filter(([cmd]) => !only || only.includes(cmd)).reduce((t, [, s]) => t + pick(s), 0) / opts.jobs;
    const result: RedisWork = {
      jobs: opts.jobs,
      seconds,
      perJob,
      totalPerJob: sum((s) => s.calls),
      scriptsPerJob: sum((s) => s.calls, ['evalsha', 'eval', 'fcall', 'evalsha_ro']),
      redisUsecPerJob: sum((s) => s.usec),
    };
    opts.log(
      `redis work: ${result.totalPerJob.toFixed(2)} commands and ${result.scriptsPerJob.toFixed(2)} Lua calls per job, ` +
        `${result.redisUsecPerJob.toFixed(0)} µs of Redis per job; ${opts.jobs} jobs in ${seconds.toFixed(1)} s ` +
        `(${(opts.jobs / seconds).toFixed(0)}/s in one process); top: ${Object.entries(perJob).slice(0, 6).map(([c, n]) => `${c} ${n.toFixed(2)}`).join(', ')}`,
    );
    return result;
  } finally {
    await app.close();
    await worker.close();
    await api.close();
    admin.disconnect();
    await redis.destroy();
    await dropDatabase(opts.pgServer, DATABASE).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForTerminal(db: Awaited<ReturnType<typeof createApiDeps>>['deps']['db'], count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { n } = await db.selectFrom('idemq.requests').select((eb) => eb.fn.countAll<string>().as('n')).where('status', 'in', ['succeeded', 'failed']).executeTakeFirstOrThrow();
    if (Number(n) >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${String(n)} of ${count} requests finished within 120 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `cmdstat_evalsha:calls=12,usec=345,...` lines, by command. */
function parseCommandStats(info: string): Map<string, { calls: number; usec: number }> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return stats;
}
