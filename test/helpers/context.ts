import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import { buildAdminApp } from '../../src/admin/admin-app.ts';
import { buildApp, openapiDocument } from '../../src/app.ts';
import { appMigrations, type IdemqApp } from '../../src/app-definition.ts';
import type { Config } from '../../src/config.ts';
import { createDb } from '../../src/db/create-db.ts';
import { createApiDeps } from '../../src/deps.ts';
import { createRegistry, type FindOperation } from '../../src/operations/registry.ts';
import { loadProcessConfig } from '../../src/process-config.ts';
import { startWorker, type WorkerHandle, type WorkerOptions } from '../../workers/start-worker.ts';
import { fixture } from '../fixtures/app/app.ts';
import { type PgbouncerOptions, startPgbouncer } from './pgbouncer.ts';
import { createTestDatabase } from './postgres.ts';
import { testRedisEnv } from './redis-target.ts';
import { type ReplicaServers, startReplicaServers } from './replica.ts';
import { TEST_SERVICES } from './services.ts';

export const TENANTS = {
  acme: { id: 'acme', secret: 'sk_test_acme_0123456789' },
  globex: { id: 'globex', secret: 'sk_test_globex_0123456789' },
} as const;

export const auth = (tenant: keyof typeof TENANTS = 'acme') => ({ authorization: `Bearer ${TENANTS[tenant].secret}` });

export const ADMIN_TOKEN = 'adm_test_0123456789abcdef';
export const adminAuth = { authorization: `Bearer ${ADMIN_TOKEN}` };

const silent = pino({ level: TEST_SERVICES.logLevel });

export interface TestContext {
  config: Config;
  /** the app the context's API and workers run (by default the neutral fixture app, test/fixtures/app) */
  app: IdemqApp;
  /** looks the app's operations up by name, as its workers do */
  find: FindOperation;
  /** direct access to the test's own database, for assertions */
  db: ReturnType<typeof createDb>['db'];
  /** an API instance built on the context's database and queue prefix */
  startApi(): Promise<FastifyInstance>;
  /** the admin server of `api` (one started by startApi; a new one if omitted), on its connections */
  startAdmin(api?: FastifyInstance, opts?: { logger?: FastifyBaseLogger }): Promise<FastifyInstance>;
  /** `options` reach startWorker as they are, e.g. operations that lack one; by default the app's */
  startWorker(overrides?: Record<string, string>, options?: Partial<WorkerOptions>): Promise<WorkerHandle>;
  close(): Promise<void>;
}

let pgbouncer: PgbouncerOptions | undefined;

/**
 * From now on, in this test file, every context's API and workers reach Postgres through a private
 * pgbouncer of its own in transaction pooling mode, and so does `ctx.db`. A file
 * calls it at its top level, then imports the test files whose bodies it runs that way.
 */
export function routeThroughPgbouncer(opts: PgbouncerOptions = {}): void {
  pgbouncer = opts;
}

let replicaServers: Promise<ReplicaServers> | undefined;
let routeToReplica = false;

/**
 * From now on, in this test file, every context's database lives on a private primary with a
 * streaming standby (one pair for the file, started by the first context, stopped after the file),
 * and its API instances read request states there (DATABASE_READ_URL). A file calls it at its top
 * level, then imports the test files whose bodies it runs that way.
 */
export function routeReadsToReplica(): void {
  routeToReplica = true;
  afterAll(async () => {
    const servers = await replicaServers?.catch(() => undefined);
    await servers?.destroy();
  });
}

/** The primary and standby of routeReadsToReplica (started if no context has started them yet). */
export function replicaServersOfFile(): Promise<ReplicaServers> {
  if (!routeToReplica) throw new Error('replicaServersOfFile: call routeReadsToReplica() at the top of the test file first');
  replicaServers ??= startReplicaServers();
  return replicaServers;
}

/**
 * Real Postgres and Redis (the ones `TEST_SERVICES` names, or the file's cluster: routeThroughRedisCluster), isolated by naming: a database cloned from the migrated template and a
 * queue prefix of its own. `env` overrides configuration (e.g. a short TTL); as a function it gets
 * the URL the processes use (the cloned database's, or its pgbouncer's), so a test can route the
 * processes through a proxy. `db` connects directly (through the pgbouncer under
 * routeThroughPgbouncer, so the repository calls a test makes on it run there too). The template
 * holds the core's tables, every example app's and the fixture's, so `app` may be any of them.
 */
export async function createTestContext(
  env: Record<string, string> | ((database: { url: string }) => Record<string, string>) = {},
  app: IdemqApp = fixture,
): Promise<TestContext> {
  const database: { url: string; drop(): Promise<void>; readUrl?: string } = routeToReplica
    ? await (await replicaServersOfFile()).createDatabase()
    : await createTestDatabase();
  const bouncer =
    pgbouncer &&
    (await startPgbouncer(database.url, pgbouncer).catch(async (err) => {
      await database.drop();
      throw err;
    }));
  const processUrl = bouncer ? bouncer.urlOf(database.url) : database.url;
  const baseEnv = {
    DATABASE_URL: processUrl,
    ...testRedisEnv(),
    QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
    API_KEYS: Object.values(TENANTS)
      .map((t) => `${t.id}:${t.secret}`)
      .join(','),
    RATE_LIMIT_PER_MINUTE: '1000000',
    ADMIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000000',
    RECONCILE_INTERVAL_MS: '500',
    RECONCILE_AFTER_MS: '1000',
    JOB_LOCK_MS: '2000',
    STALLED_INTERVAL_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ADMIN_TOKEN,
    // every test client is one address (loopback): a test of the per-address cap sets its own
    HTTP_MAX_CONNECTIONS_PER_ADDRESS: '100000',
    ...(database.readUrl && { DATABASE_READ_URL: database.readUrl }),
    ...(typeof env === 'function' ? env({ url: processUrl }) : env),
  };
  // the app's operations, then the forward routes of FORWARD_ROUTES_FILE, as a process entry has them
  const { config, operations } = loadProcessConfig(baseEnv, { operations: app.operations });
  const { db } = createDb({ connectionString: processUrl, poolSize: 5 });
  const closers: (() => Promise<void>)[] = [];
  const migrations = appMigrations(app);
  const adminDeps = new WeakMap<FastifyInstance, Awaited<ReturnType<typeof createApiDeps>>['admin']>();
  const startApi = async () => {
    const { deps, admin, close } = await createApiDeps(config, silent, migrations);
    const server = await buildApp(deps, { operations, routes: app.routes });
    adminDeps.set(server, admin);
    closers.push(async () => {
      await server.close();
      await close();
    });
    return server;
  };
  return {
    config,
    app,
    find: createRegistry(operations).find,
    db,
    startApi,
    async startAdmin(api, opts = {}) {
      const server = api ?? (await startApi());
      const deps = adminDeps.get(server);
      if (!deps) throw new Error('startAdmin: not an API of this context');
      await server.ready();
      const admin = await buildAdminApp({ ...deps, openapi: openapiDocument(server) }, opts);
      // closed before the API's connections (closers run in reverse)
      closers.push(() => admin.close());
      return admin;
    },
    async startWorker(overrides = {}, options = {}) {
      const worker = loadProcessConfig({ ...baseEnv, ...overrides }, { operations: options.operations ?? app.operations });
      const handle = await startWorker(worker.config, silent, { migrations, ...options, operations: worker.operations });
      closers.push(() => handle.close());
      return handle;
    },
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      await db.destroy();
      await bouncer?.stop();
      await database.drop();
    },
  };
}
