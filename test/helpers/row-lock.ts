import pg from 'pg';

export interface HeldLock {
  /** ends the holding transaction (rollback), letting the blocked statements go on */
  release(): Promise<void>;
}

/**
 * Holds `FOR UPDATE` on one row in a transaction of its own, so a worker that reaches that row
 * blocks there mid-job: the way to catch a job in flight without a test hook in the worker.
 */
export async function holdRowLock(databaseUrl: string, table: 'fixture.items' | 'idemq.requests', id: string): Promise<HeldLock> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'test-lock-holder' });
  await client.connect();
  await client.query('begin');
  await client.query(`select 1 from ${table} where id = $1 for update`, [id]);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await client.query('rollback').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** Backends of worker processes (application_name idemq-worker-<pid>) waiting on a lock, with their pids. */
export async function blockedWorkerBackends(databaseUrl: string): Promise<{ backendPid: number; workerPid: number }[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number; application_name: string }>(
      `select pid, application_name from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and application_name like 'idemq-worker-%'`,
    );
    return rows.map((r) => ({ backendPid: r.pid, workerPid: Number(r.application_name.slice('idemq-worker-'.length)) }));
  } finally {
    await client.end();
  }
}

/** Ends a backend as an administrator would (SQLSTATE 57P01 for its client): a transient failure. */
export async function terminateBackend(databaseUrl: string, backendPid: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('select pg_terminate_backend($1)', [backendPid]);
  } finally {
    await client.end();
  }
}
