import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.ts';
import { parseInt8 } from './int8.ts';

// int8 columns hold minor units (kept within 2^53 - 1 by constraints), counts and outbox ids
pg.types.setTypeParser(pg.types.builtins.INT8, parseInt8);

export interface DbOptions {
  connectionString: string;
  poolSize: number;
  /** a label that shows in pg_stat_activity */
  applicationName?: string;
  /** errors of idle clients (a Postgres restart); the pool replaces them by itself */
  onIdleError?: (err: Error) => void;
}

/** Creates the Kysely instance over a pg Pool. The pool reconnects by itself after a Postgres restart. */
export function createDb(options: DbOptions): { db: Kysely<Database>; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize,
    application_name: options.applicationName ?? 'idemq',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // an idle client whose server went away emits here; without a listener the process would crash
  pool.on('error', (err) => options.onIdleError?.(err));
  // A client in use emits 'error' too when its server goes away (a Postgres restart, a terminated
  // backend), and the pool listens only while it is idle: unhandled, that event would kill the
  // process. The same error already fails the query in flight (or reaches the pool's listener
  // above when idle), so this listener only keeps the event from being fatal.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), pool };
}
