import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createAccounts } from './accounts.ts';
import type { BenchContext } from './context.ts';
import { recreateDatabase } from './database.ts';
import { emulateAutovacuum } from './vacuum.ts';
import { startUpstream } from './gateway/upstream.ts';
import type { Options } from './options.ts';
import { createProbe } from './probe.ts';
import { deletePrefixedKeys } from './redis-cleanup.ts';
import { freePort, type Service, startScript, stopServices, waitHttpReady } from './services.ts';

export const PROFILE_DIR = fileURLToPath(new URL('./results/profiles', import.meta.url));
export const TENANT = 'bench';

export interface Bench {
  ctx: BenchContext;
  services: Service[];
  queuePrefix: string;
  /** Stops the processes it started (gracefully, so CPU profiles get written) and deletes its Redis keys. */
  stop(): Promise<void>;
  /** the server's autovacuum, or how the run stood in for it */
  autovacuum: string;
}

/**
 * A fresh database and queue prefix, the bare baseline server, the API and the workers as real
 * child processes, and the account pool. The database is left behind for inspection after the run
 * and dropped by the next one.
 */
export async function startBench(opts: Options, log: (line: string) => void): Promise<Bench> {
  const runId = randomBytes(4).toString('hex');
  const queuePrefix = `bench-${runId}`;
  const secret = `sk_bench_${randomBytes(12).toString('hex')}`;
  log(`run ${runId}: database ${opts.database}, queue prefix ${queuePrefix}`);
  const databaseUrl = await recreateDatabase(opts.pgServer, opts.database);
  const vacuum = await emulateAutovacuum(databaseUrl, log);
  if (opts.cpuProfile) {
    rmSync(PROFILE_DIR, { recursive: true, force: true });
    mkdirSync(PROFILE_DIR, { recursive: true });
  }
  const [apiPort, baselinePort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const workerMetricsPorts: number[] = [];
  for (let i = 0; i < opts.workers; i++) workerMetricsPorts.push(await freePort());
  const adminToken = `adm_bench_${randomBytes(12).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: databaseUrl,
    REDIS_URL: opts.redisUrl,
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    // the admin server on a free port: a run must not collide with an `npm start` on this machine;
    // its /metrics (and each worker's) give the stage timings of the end-to-end scenario
    ADMIN_PORT: String(adminPort),
    ADMIN_TOKEN: adminToken,
    API_KEYS: `${TENANT}:${secret}`,
    QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: String(Number.MAX_SAFE_INTEGER),
    // the load generators are all one address: the connections scenario holds 10,000 sockets from it
    HTTP_MAX_CONNECTIONS_PER_ADDRESS: '100000',
    ...opts.serviceEnv,
  };
  const profileDir = opts.cpuProfile ? PROFILE_DIR : undefined;
  const services: Service[] = [];
  const stop = async () => {
    await vacuum.stop();
    await stopServices(services);
    const deleted = await deletePrefixedKeys(opts.redisUrl, queuePrefix).catch(
      (err: Error) => (log(`could not clean Redis: ${err.message}`), 0),
    );
    log(`stopped ${services.length} processes, deleted ${deleted} Redis keys under ${queuePrefix}`);
  };
  try {
    // the gateway scenario's upstream, before the API and workers, which read the routes file at start
    const upstream = opts.only.has('gateway') ? await startUpstream() : undefined;
    if (upstream) {
      services.push(upstream.service);
      env.FORWARD_ROUTES_FILE = upstream.routesFile;
    }
    const baseline = startScript('baseline', 'bench/baseline-server.ts', { env: { PATH: process.env.PATH }, args: [String(baselinePort)] });
    services.push(baseline);
    const api = startScript('api', 'examples/ledger/api.ts', { env, ...(profileDir ? { profileDir } : {}) });
    services.push(api);
    for (let i = 0; i < opts.workers; i++) {
      const workerEnv = { ...env, WORKER_METRICS_PORT: String(workerMetricsPorts[i]) };
      services.push(startScript(`worker-${i + 1}`, 'examples/ledger/worker.ts', { env: workerEnv, ...(profileDir ? { profileDir } : {}) }));
    }
    await waitHttpReady(baseline, `http://127.0.0.1:${baselinePort}/healthz`);
    await waitHttpReady(api, `http://127.0.0.1:${apiPort}/readyz`);
    const targets = {
      service: { host: '127.0.0.1', port: apiPort },
      baseline: { host: '127.0.0.1', port: baselinePort },
      ...(upstream && { upstream: upstream.target }),
    };
    const started = Date.now();
    const accounts = await createAccounts(targets.service, secret, opts.profile.accounts, runId);
    log(`opened ${accounts.length} accounts through the API in ${Date.now() - started} ms`);
    const ctx: BenchContext = {
      profile: opts.profile,
      runId,
      tenant: TENANT,
      secret,
      accounts,
      targets,
      probe: createProbe(databaseUrl),
      pids: {
        api: api.pid,
        workers: services.filter((s) => s.name.startsWith('worker')).map((s) => s.pid),
        baseline: baseline.pid,
        ...(upstream && { upstream: upstream.service.pid }),
      },
      database: opts.database,
      stageSources: {
        api: { url: `http://127.0.0.1:${adminPort}/metrics`, token: adminToken },
        workers: workerMetricsPorts.map((port) => `http://127.0.0.1:${port}/metrics`),
      },
      log,
    };
    return { ctx, services, queuePrefix, stop, autovacuum: vacuum.autovacuum };
  } catch (err) {
    await stop();
    throw err;
  }
}
