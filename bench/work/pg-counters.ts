import pg from 'pg';

/** Cumulative Postgres counters of one database at one moment. */
export interface PgCounters {
  /** per `schema.table`: tuples inserted, updated (HOT ones included), HOT-updated, deleted */
  tables: Record<string, { ins: number; upd: number; hot: number; del: number }>;
  /** pg_stat_wal, cluster-wide (the private instance serves nobody else) */
  walRecords: number;
  walBytes: number;
  walFpi: number;
  /** statements executed per role (pg_stat_statements, BEGIN and COMMIT included) */
  statements: Record<string, number>;
  /** committed + rolled back transactions of the database, the probe's own included */
  transactions: number;
  /** total size of every user table with its indexes and TOAST, per `schema.table` */
  bytes: Record<string, number>;
  /** queries the probe itself had sent when this was read (each one a transaction) */
  probeQueries: number;
}

/**
 * The harness's own connection to a private Postgres, as a role of its own so that its queries
 * are told apart from the service's in pg_stat_statements; it counts the queries it sends, so its
 * own transactions can be taken out of the database's.
 */
export async function createPgCounterProbe(url: string) {
  const client = new pg.Client({ connectionString: url, application_name: 'idemq-bench-probe' });
  // a lost connection fails the next query; without a listener it would end the process
  client.on('error', () => undefined);
  await client.connect();
  let sent = 0;
  const query = async <T extends pg.QueryResultRow>(text: string): Promise<T[]> => {
    sent++;
    return (await client.query<T>(text)).rows;
  };
  return {
    query,
    /** Requests in a terminal state. */
    async terminal(): Promise<number> {
      const [r] = await query<{ n: string }>(`select count(*) as n from idemq.requests where status in ('succeeded', 'failed')`);
      return Number(r!.n);
    },
    async read(): Promise<PgCounters> {
      // the probe's own counters reach pg_stat_database once it is idle after forcing the flush
      await query('select pg_stat_force_next_flush()');
      const probeQueries = sent;
      const [db] = await query<{ n: string }>(
        `select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`,
      );
      const tables = await query<{ name: string; ins: string; upd: string; hot: string; del: string; bytes: string }>(
        `select schemaname || '.' || relname as name, n_tup_ins as ins, n_tup_upd as upd, n_tup_hot_upd as hot, n_tup_del as del,
                pg_total_relation_size(relid) as bytes
           from pg_stat_user_tables order by 1`,
      );
      const [wal] = await query<{ records: string; bytes: string; fpi: string }>(
        `select wal_records as records, wal_bytes as bytes, wal_fpi as fpi from pg_stat_wal`,
      );
      const roles = await query<{ role: string; calls: string }>(
        `select r.rolname as role, sum(s.calls) as calls from pg_stat_statements s join pg_roles r on r.oid = s.userid
          where s.dbid = (select oid from pg_database where datname = current_database()) group by 1`,
      );
      return {
        tables: Object.fromEntries(
          tables.map((t) => [t.name, { ins: Number(t.ins), upd: Number(t.upd), hot: Number(t.hot), del: Number(t.del) }]),
        ),
        walRecords: Number(wal!.records),
        walBytes: Number(wal!.bytes),
        walFpi: Number(wal!.fpi),
        statements: Object.fromEntries(roles.map((r) => [r.role, Number(r.calls)])),
        transactions: Number(db!.n),
        bytes: Object.fromEntries(tables.map((t) => [t.name, Number(t.bytes)])),
        probeQueries,
      };
    },
    close: () => client.end(),
  };
}

export type PgCounterProbe = Awaited<ReturnType<typeof createPgCounterProbe>>;
