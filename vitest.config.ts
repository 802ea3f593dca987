import { existsSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

// Which files run on which infrastructure. Every file runs in `default` on the shared Postgres and
// Redis; the contract files below run again in a project of their own, with IDEMQ_TEST_TARGET
// telling the test helpers (test/helpers/services.ts) to route every context through it, plus the
// project's own tests. One project alone: `npx vitest run --project pgbouncer`.

/** Every process (and ctx.db) reaches Postgres through a private pgbouncer in transaction pooling
 * mode, one per context, with 3 server connections for more clients. */
const PGBOUNCER = [
  'submit-idempotency',
  'concurrency',
  'process-batch',
  'job-processor',
  'completion-delivery',
  'outbox-relay',
  'reconciler',
  'expiry',
  'key-ring',
  'request-lease',
  'forward-routes',
];
/** On a private Redis Cluster (3 masters, a replica each; test/infra/redis-cluster.global-setup.ts)
 * with the request queue in 3 shards and sharded pub/sub. */
const REDIS_CLUSTER = [
  'submit-idempotency',
  'concurrency',
  'queue-contract',
  'process-batch',
  'job-processor',
  'completion-delivery',
  'outbox-relay',
  'reconciler',
  'expiry',
  'replay-cache-coherence',
];
/** The status reads of the contract (GET, long-poll, Prefer: wait, WebSocket and SSE pushes) with
 * every database on a private primary and the API reading on its streaming standby, which keeps up
 * (test/infra/read-replica.global-setup.ts): nothing a client sees changes. read-replica.test.ts has
 * the replica lagging, stopped and counted. */
const READ_REPLICA = [
  'submit-idempotency',
  'requests-routes',
  'completion-delivery',
  'ws-session',
  'ws-fanout',
  'held-limits',
  'status-history',
];
/** Each re-run project's own tests, which run in that project only. */
const PROJECT_ONLY = { pgbouncer: 'pgbouncer', 'redis-cluster': 'redis-cluster' };

const integration = (names: string[]) =>
  names.map((name) => {
    const file = `test/integration/${name}.test.ts`;
    // a renamed or moved file must not silently drop out of a re-run
    if (!existsSync(new URL(file, import.meta.url))) throw new Error(`vitest.config.ts: ${file} does not exist; update the project lists`);
    return file;
  });

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    // most of a file's time is waiting (on timers, child processes, Postgres and Redis), not CPU:
    // four files at once keep two cores busy without starving the timing-sensitive ones
    maxWorkers: 4,
    // a worker runs one file after another without importing the core again for each; the
    // helpers that route a file through a private server reset themselves after it
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...integration(Object.values(PROJECT_ONLY))],
        },
      },
      {
        extends: true,
        test: {
          name: 'pgbouncer',
          include: integration([...PGBOUNCER, PROJECT_ONLY.pgbouncer]),
          env: { IDEMQ_TEST_TARGET: 'pgbouncer' },
        },
      },
      {
        extends: true,
        test: {
          name: 'redis-cluster',
          include: integration([...REDIS_CLUSTER, PROJECT_ONLY['redis-cluster']]),
          env: { IDEMQ_TEST_TARGET: 'redis-cluster' },
          globalSetup: ['test/infra/redis-cluster.global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'read-replica',
          include: integration(READ_REPLICA),
          env: { IDEMQ_TEST_TARGET: 'read-replica' },
          globalSetup: ['test/infra/read-replica.global-setup.ts'],
        },
      },
    ],
  },
});
