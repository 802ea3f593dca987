import type { PrivateStack } from './private-stack.ts';

export interface StorageResult {
  keys: number;
  /** bytes per key by relation (heap, each index, TOAST) as the tables grew, no vacuum having run */
  asGrown: Record<string, number>;
  /** the same after VACUUM FULL: what a key takes once vacuum has reclaimed the dead versions */
  compact: Record<string, number>;
  /** average stored size of the request row's larger columns, bytes */
  columns: Record<string, number>;
  outboxRowsLeft: number;
  /** Redis: used_memory per completed job kept, and the parts of a job measured with MEMORY USAGE */
  redis: {
    completedKept: number;
    usedMemoryPerKept: number;
    jobHash: number;
    completedSetPerEntry: number;
    eventsPerEntry: number;
    eventsEntries: number;
  };
}

/**
 * What the completed keys take: every relation of the service's and the ledger's tables, divided
 * by the keys, first as grown and then compacted; and what the completed jobs BullMQ keeps take in
 * Redis (the job hash, its entry in the completed set, the events stream).
 */
export async function measureStorage(stack: PrivateStack): Promise<StorageResult> {
  const [{ n }] = (await stack.probe.query<{ n: string }>(
    `select count(*) as n from idemq.requests where status in ('succeeded', 'failed')`,
  )) as [{ n: string }];
  const keys = Number(n);
  const sizes = async () => {
    const rows = await stack.probe.query<{ rel: string; bytes: string }>(
      `with t as (select oid, reltoastrelid from pg_class where relnamespace in ('idemq'::regnamespace, 'ledger'::regnamespace) and relkind = 'r')
       select oid::regclass::text || ' (heap)' as rel, pg_relation_size(oid) as bytes from t
       union all select indexrelid::regclass::text, pg_relation_size(indexrelid) from pg_index join t on indrelid = t.oid
       union all select oid::regclass::text || ' (TOAST)', pg_total_relation_size(reltoastrelid) from t where reltoastrelid <> 0
       order by 1`,
    );
    return Object.fromEntries(rows.filter((r) => Number(r.bytes) > 0).map((r) => [r.rel, Number(r.bytes) / keys]));
  };
  const asGrown = await sizes();
  await stack.probe.query('vacuum full idemq.requests, idemq.outbox, ledger.payments, ledger.accounts');
  const compact = await sizes();
  const [cols] = await stack.probe.query<Record<string, string>>(
    `select avg(pg_column_size(r.*)) as "row", avg(pg_column_size(payload)) as payload, avg(pg_column_size(result)) as result, avg(pg_column_size(history)) as history,
            avg(pg_column_size(idempotency_key)) as idempotency_key, avg(pg_column_size(fingerprint)) as fingerprint
       from idemq.requests r where status = 'succeeded'`,
  );
  const [outbox] = await stack.probe.query<{ n: string }>(`select count(*) as n from idemq.outbox`);

  const redis = stack.admin;
  const keyOf = (suffix: string) => `work:requests:${suffix}`;
  const completedKept = await redis.zcard(keyOf('completed'));
  const sample = await redis.zrange(keyOf('completed'), '0', '199');
  const usage = async (key: string) => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  let jobBytes = 0;
  for (const id of sample) jobBytes += await usage(keyOf(id));
  const eventsEntries = await redis.xlen(keyOf('events'));
  const memory = /^used_memory:(\d+)/m.exec((await redis.info('memory')) as string);
  return {
    keys,
    asGrown,
    compact,
    columns: Object.fromEntries(Object.entries(cols ?? {}).map(([k, v]) => [k, Number(v)])),
    outboxRowsLeft: Number(outbox?.n ?? 0),
    redis: {
      completedKept,
      usedMemoryPerKept: Number(memory?.[1] ?? 0) / Math.max(1, completedKept),
      jobHash: sample.length ? jobBytes / sample.length : 0,
      completedSetPerEntry: (await usage(keyOf('completed'))) / Math.max(1, completedKept),
      eventsPerEntry: (await usage(keyOf('events'))) / Math.max(1, eventsEntries),
      eventsEntries,
    },
  };
}
