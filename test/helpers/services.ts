/** The infrastructure a vitest project routes its tests through (vitest.config.ts sets it per project). */
export type TestTarget = 'default' | 'pgbouncer' | 'redis-cluster' | 'read-replica';
const TARGETS: readonly TestTarget[] = ['default', 'pgbouncer', 'redis-cluster', 'read-replica'];

/**
 * The Postgres server and Redis the whole suite uses, and the only reader of the test variables:
 * `TEST_DATABASE_URL` (a server whose `postgres` database may create and drop databases),
 * `TEST_REDIS_URL` and `IDEMQ_TEST_TARGET` (the project's infrastructure). Unset or empty, they
 * name the local defaults.
 */
export const TEST_SERVICES = Object.freeze({
  postgresUrl: fromEnv('TEST_DATABASE_URL') ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: fromEnv('TEST_REDIS_URL') ?? 'redis://127.0.0.1:6379',
  /** pino level of the processes a context starts in the test process */
  logLevel: fromEnv('TEST_LOG_LEVEL') ?? 'silent',
  target: testTarget(fromEnv('IDEMQ_TEST_TARGET') ?? 'default'),
});

const DEFAULT_PORTS: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379, 'rediss:': 6379 };

/** Host and port of a service URL, with the scheme's default port, e.g. for a TCP proxy in front of it. */
export function addressOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : DEFAULT_PORTS[u.protocol];
  if (port === undefined) throw new Error(`no default port for ${u.protocol} URLs: write the port in ${u.protocol}//host:port`);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port };
}

function fromEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

function testTarget(value: string): TestTarget {
  if (!TARGETS.includes(value as TestTarget)) throw new Error(`IDEMQ_TEST_TARGET: must be one of ${TARGETS.join(', ')} (got "${value}")`);
  return value as TestTarget;
}
