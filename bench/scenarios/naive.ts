import pg from 'pg';
import { OPENING_BALANCE } from '../accounts.ts';
import type { BenchContext } from '../context.ts';
import { recreateDatabase } from '../database.ts';
import { createProbe } from '../probe.ts';
import { emulateAutovacuum } from '../vacuum.ts';
import { deletePrefixedKeys } from '../redis-cleanup.ts';
import { freePort, startScript, stopServices, waitHttpReady } from '../services.ts';
import { type IngestResult, runIngest } from './ingest.ts';

/**
 * The naive path (bench/naive/: one INSERT and one add() per request, a worker doing
 * one transaction per job), measured like the service's ingest in the same run, with the same
 * generator and requests: its accept and end-to-end capacity are what "several times faster than
 * the naive path" is judged against. Runs on a database and queue prefix of its own, with the same
 * account ids; stops its processes and deletes its Redis keys at the end.
 */
export async function runNaive(ctx: BenchContext, infra: { pgServer: string; redisUrl: string }): Promise<IngestResult> {
  const database = `${ctx.database}_naive`;
  const url = await recreateDatabase(infra.pgServer, database);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`insert into ledger.accounts (id, tenant_id, currency, balance) select unnest($1::uuid[]), $2, 'USD', $3`, [
    ctx.accounts,
    ctx.tenant,
    OPENING_BALANCE,
  ]);
  await admin.end();

  const queuePrefix = `bench-${ctx.runId}-naive`;
  const port = await freePort();
  const env = { PATH: process.env.PATH, DATABASE_URL: url, REDIS_URL: infra.redisUrl, QUEUE_PREFIX: queuePrefix };
  const services = [
    startScript('naive-server', 'bench/naive/server.ts', { env, args: [String(port)] }),
    startScript('naive-worker', 'bench/naive/worker.ts', { env }),
  ];
  const probe = createProbe(url);
  const vacuum = await emulateAutovacuum(url, () => undefined);
  try {
    await waitHttpReady(services[0]!, `http://127.0.0.1:${port}/healthz`);
    ctx.targets.naive = { host: '127.0.0.1', port };
    ctx.pids.naive = services.map((s) => s.pid);
    ctx.databases = [database];
    return await runIngest(ctx, { target: 'naive', probe });
  } finally {
    delete ctx.targets.naive;
    delete ctx.pids.naive;
    delete ctx.databases;
    await vacuum.stop();
    await probe.close();
    await stopServices(services);
    await deletePrefixedKeys(infra.redisUrl, queuePrefix).catch(() => 0);
  }
}
