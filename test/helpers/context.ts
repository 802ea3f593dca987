import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { createDb } from '../../src/db/create-db.ts';
import { createApiDeps } from '../../src/deps.ts';
import { startWorker, type WorkerHandle, type WorkerOptions } from '../../workers/start-worker.ts';
import { createTestDatabase } from './postgres.ts';
import { TEST_SERVICES } from './services.ts';

export const TENANTS = {
  acme: { id: 'acme', secret: 'sk_test_acme_0123456789' },
  globex: { id: 'globex', secret: 'sk_test_globex_0123456789' },
} as const;

export const auth = (tenant: keyof typeof TENANTS = 'acme') => ({ authorization: `Bearer ${TENANTS[tenant].secret}` });

const silent = pino({ level: TEST_SERVICES.logLevel });

export interface TestContext {
  config: Config;
  /** direct access to the test's own database, for assertions */
  db: ReturnType<typeof createDb>['db'];
  /** an API instance built on the context's database and queue prefix */
  startApi(): Promise<FastifyInstance>;
  /** `options` reach startWorker as they are, e.g. a registry that lacks an operation */
  startWorker(overrides?: Record<string, string>, options?: WorkerOptions): Promise<WorkerHandle>;
  close(): Promise<void>;
}

/**
 * Real Postgres and Redis (the ones `TEST_SERVICES` names), isolated by naming: a database cloned from the migrated template and a
 * queue prefix of its own. `env` overrides configuration (e.g. a short TTL); as a function it gets
 * the cloned database's URL, so a test can route the processes through a proxy. `db` always
 * connects directly.
 */
export async function createTestContext(
  env: Record<string, string> | ((database: { url: string }) => Record<string, string>) = {},
): Promise<TestContext> {
  const database = await createTestDatabase();
  const baseEnv = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_SERVICES.redisUrl,
    QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
    API_KEYS: Object.values(TENANTS).map((t) => `${t.id}:${t.secret}`).join(','),
    RATE_LIMIT_PER_MINUTE: '1000000',
    RECONCILE_INTERVAL_MS: '500',
    RECONCILE_AFTER_MS: '1000',
    JOB_LOCK_MS: '2000',
    STALLED_INTERVAL_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...(typeof env === 'function' ? env(database) : env),
  };
  const config = loadConfig(baseEnv);
  const { db } = createDb({ connectionString: database.url, poolSize: 5 });
  const closers: (() => Promise<void>)[] = [];
  return {
    config,
    db,
    async startApi() {
      const { deps, close } = await createApiDeps(config, silent);
      const app = await buildApp(deps);
      closers.push(async () => {
        await app.close();
        await close();
      });
      return app;
    },
    async startWorker(overrides = {}, options) {
      const handle = await startWorker(loadConfig({ ...baseEnv, ...overrides }), silent, options);
      closers.push(() => handle.close());
      return handle;
    },
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      await db.destroy();
      await database.drop();
    },
  };
}
