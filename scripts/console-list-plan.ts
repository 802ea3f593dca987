/**
 * `node scripts/console-list-plan.ts`: the query plans and timings of the console's list of
 * requests on a table of 1,000,000 rows. Outside `npm test` (it takes a minute or two).
 *
 * Creates a scratch database on the Postgres server of CONSOLE_PLAN_SERVER (a URL of any database
 * on it; by default postgres://postgres@127.0.0.1:5432/postgres), runs the core's migrations, fills
 * idemq.requests with 1,000,000 requests over 30 days (a tenant with 40 % of them and 500 small
 * ones, eight operations and a rare one, all four statuses, two error codes), then for each filter
 * runs EXPLAIN (ANALYZE, BUFFERS) of the very statement the console runs (listRequestsQuery) for
 * the first page and for a deep one (after 10,000 rows, or half the matches when fewer match), prints a line per plan (the indexes used,
 * rows read, buffers, execution time) and the median time of the whole call over 5 runs, and
 * drops the database, also on failure.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { createDb } from '../src/db/create-db.ts';
import { migrate } from '../src/db/migrator.ts';
import { type ListPosition, listRequests, listRequestsQuery, type RequestListFilter } from '../src/idempotency/request-list.repository.ts';

const ROWS = 1_000_000;
const PAGE = 50;
/** a deep page starts after this many rows, or after half the matching rows when fewer match */
const DEEP = 10_000;
const server = new URL(process.env.CONSOLE_PLAN_SERVER ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const name = `idemq_console_plan_${randomBytes(4).toString('hex')}`;
const scratch = new URL(server);
scratch.pathname = `/${name}`;

async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: server.toString() });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();
const CASES: [string, RequestListFilter][] = [
  ['no filter', {}],
  ['status=processing (2 %)', { status: 'processing' }],
  ['status=failed (5 %)', { status: 'failed' }],
  ['operation=orders.op-3 (12 %)', { operation: 'orders.op-3' }],
  ['operation=rare.op (0.1 %)', { operation: 'rare.op' }],
  ['tenant=tenant-big (40 %)', { tenant: 'tenant-big' }],
  ['tenant=tenant-7 (0.12 %)', { tenant: 'tenant-7' }],
  ['errorCode=processing_failed (2 %)', { errorCode: 'processing_failed' }],
  ['window: one day, 10 days ago', { from: day(11), to: day(10) }],
  ['tenant=tenant-7 + status=failed', { tenant: 'tenant-7', status: 'failed' }],
  ['status=failed + operation + window', { status: 'failed', operation: 'orders.op-3', from: day(20), to: day(5) }],
];

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}

function nodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodes)];
}

await onServer(`create database ${name}`);
const { db, pool } = createDb({ connectionString: scratch.toString(), poolSize: 2, applicationName: 'console-list-plan' });
try {
  await migrate(db);
  const filled = Date.now();
  await sql`
    insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, error, created_at, retention_seconds)
    select case when i % 10 < 4 then 'tenant-big' else 'tenant-' || (i % 500) end,
           'key-' || i, 'f',
           case when i % 1000 = 0 then 'rare.op' else 'orders.op-' || (i % 8) end,
           '{"n":1}',
           case when s < 90 then 'succeeded' when s < 95 then 'failed' when s < 98 then 'queued' else 'processing' end,
           case when s in (90, 91) then '{"code":"processing_failed","message":"m"}'::jsonb
                when s between 92 and 94 then '{"code":"insufficient_quantity","message":"m"}'::jsonb end,
           now() - make_interval(secs => (${ROWS} - i) * 2.592), 86400
      from (select i, abs(hashint4(i)) % 100 as s from generate_series(1, ${ROWS}) i) g`.execute(db);
  await sql`vacuum analyze idemq.requests`.execute(db);
  console.log(`filled ${ROWS} rows in ${((Date.now() - filled) / 1000).toFixed(1)} s (with every index in place), vacuumed and analyzed\n`);

  const explain = async (filter: RequestListFilter, after: ListPosition | undefined) => {
    const compiled = listRequestsQuery(db, filter, after, PAGE).compile();
    type Explained = { 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number; 'Planning Time': number }] };
    const { rows } = await pool.query<Explained>(`explain (analyze, buffers, format json) ${compiled.sql}`, [...compiled.parameters]);
    const [plan] = rows[0]!['QUERY PLAN'];
    const all = nodes(plan.Plan);
    const scans = all.filter((n) => n['Node Type'].includes('Scan'));
    const read = scans.reduce((sum, n) => sum + n['Actual Rows'] * n['Actual Loops'] + (n['Rows Removed by Filter'] ?? 0), 0);
    const how = scans.map((n) => `${n['Node Type']}${n['Index Name'] ? ` on ${n['Index Name']}` : ''}`).join(' + ');
    const top = all.filter((n) => n['Node Type'] !== 'Limit').map((n) => n['Node Type'])[0];
    return `${how}${top && !top.includes('Scan') ? ` (${top})` : ''}; ${read} rows read, ${plan.Plan['Shared Hit Blocks'] + plan.Plan['Shared Read Blocks']} buffers; ${plan['Execution Time'].toFixed(2)} ms (planning ${plan['Planning Time'].toFixed(2)} ms)`;
  };
  const median = async (filter: RequestListFilter, after: ListPosition | undefined) => {
    const times: number[] = [];
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      await listRequests(db, filter, after, PAGE);
      times.push(performance.now() - started);
    }
    return times.sort((a, b) => a - b)[2]!.toFixed(2);
  };

  for (const [label, filter] of CASES) {
    // how many match, and the position after `skip` of them as a cursor would carry it (neither timed)
    const matching = await sql<{ n: number }>`select count(*)::int as n from (${listRequestsQuery(db, filter, undefined, ROWS)}) m`.execute(
      db,
    );
    const count = matching.rows[0]!.n;
    const skip = Math.min(DEEP, Math.floor(count / 2));
    const deepRow =
      skip > 0
        ? await listRequestsQuery(db, filter, undefined, 0)
            .limit(1)
            .offset(skip - 1)
            .executeTakeFirst()
        : undefined;
    const deep = deepRow && { createdAt: deepRow.created_at_text, id: deepRow.id };
    console.log(`${label}: ${count} rows match`);
    console.log(`  first page: ${await explain(filter, undefined)}; whole call median ${await median(filter, undefined)} ms`);
    if (deep) console.log(`  after ${skip}: ${await explain(filter, deep)}; whole call median ${await median(filter, deep)} ms`);
  }
} finally {
  await db.destroy();
  await onServer(`drop database if exists ${name} with (force)`);
}
