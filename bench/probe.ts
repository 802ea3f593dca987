import pg from 'pg';

/** The harness's own read-only view of the bench database: backlog, effects, ledger. */
export function createProbe(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'idemq-bench-probe' });
  const one = async <T>(text: string, values: unknown[] = []): Promise<T> => (await pool.query(text, values)).rows[0] as T;
  return {
    /** requests not yet terminal: the backlog the workers still owe */
    async unfinished(): Promise<number> {
      const r = await one<{ n: string }>(`select count(*) as n from idemq.requests where status in ('queued', 'processing')`);
      return Number(r.n);
    },
    /** Ledger facts: payments really moved, money neither created nor lost, no request failed. */
    async ledger(): Promise<{
      requests: number;
      succeeded: number;
      failed: number;
      unfinished: number;
      payments: number;
      balanceSum: number;
      accounts: number;
    }> {
      const r = await one<Record<string, string>>(`
        select (select count(*) from idemq.requests where operation = 'payments.create') as requests,
               (select count(*) from idemq.requests where operation = 'payments.create' and status = 'succeeded') as succeeded,
               (select count(*) from idemq.requests where status = 'failed') as failed,
               (select count(*) from idemq.requests where status in ('queued', 'processing')) as unfinished,
               (select count(*) from ledger.payments) as payments,
               (select coalesce(sum(balance), 0) from ledger.accounts) as balance_sum,
               (select count(*) from ledger.accounts) as accounts`);
      return {
        requests: Number(r.requests),
        succeeded: Number(r.succeeded),
        failed: Number(r.failed),
        unfinished: Number(r.unfinished),
        payments: Number(r.payments),
        balanceSum: Number(r.balance_sum),
        accounts: Number(r.accounts),
      };
    },
    /** Per key: the request id recorded, its status, and how many payments it made. */
    async effectsByKey(tenant: string, keys: readonly string[]): Promise<Map<string, { id: string; status: string; payments: number }>> {
      const { rows } = await pool.query<{ key: string; id: string; status: string; payments: string }>(
        `select r.idempotency_key as key, r.id, r.status, (select count(*) from ledger.payments p where p.request_id = r.id) as payments
           from idemq.requests r where r.tenant_id = $1 and r.idempotency_key = any($2::text[])`,
        [tenant, keys],
      );
      return new Map(rows.map((r) => [r.key, { id: r.id, status: r.status, payments: Number(r.payments) }]));
    },
    /** Transactions committed or rolled back in this database so far (Postgres flushes these counters about once a second). */
    async transactions(): Promise<number> {
      const r = await one<{ n: string }>(
        `select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`,
      );
      return Number(r.n);
    },
    /** Pids of this database's Postgres backends, for CPU accounting. */
    async backendPids(): Promise<number[]> {
      const { rows } = await pool.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database()`);
      return rows.map((r) => r.pid);
    },
    close: () => pool.end(),
  };
}

export type Probe = ReturnType<typeof createProbe>;
