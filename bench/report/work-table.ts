import type { WorkResult } from '../scenarios/work.ts';
import type { WorkFigures } from '../work/figures.ts';
import type { WorkHistoryEntry } from '../work/history.ts';

/** The rows of the work-per-request table: a label and how to read it off one pass. */
export const WORK_ROWS: [string, (f: WorkFigures) => string][] = [
  ['Postgres tuples inserted', (f) => f.pg.tuples.ins.toFixed(2)],
  ['Postgres tuples updated', (f) => f.pg.tuples.upd.toFixed(2)],
  ['… of which HOT', (f) => f.pg.tuples.hot.toFixed(2)],
  ['Postgres tuples deleted', (f) => f.pg.tuples.del.toFixed(2)],
  ['WAL bytes', (f) => f.pg.walBytes.toFixed(0)],
  ['WAL records', (f) => f.pg.walRecords.toFixed(1)],
  ['Postgres transactions', (f) => f.pg.transactions.toFixed(2)],
  ['statements (round trips), API', (f) => f.pg.statements.api.toFixed(2)],
  ['statements (round trips), worker', (f) => f.pg.statements.worker.toFixed(2)],
  ['Redis commands (inside Lua included)', (f) => f.redis.total.toFixed(2)],
  ['Redis Lua calls', (f) => f.redis.lua.toFixed(2)],
  ['Redis time, µs', (f) => f.redis.usec.toFixed(0)],
  ['CPU ms, API', (f) => f.cpuMs.api.toFixed(3)],
  ['CPU ms, worker', (f) => f.cpuMs.worker.toFixed(3)],
  ['CPU ms, Postgres', (f) => f.cpuMs.postgres.toFixed(3)],
  ['CPU ms, redis-server', (f) => f.cpuMs.redis.toFixed(3)],
  ['CPU ms, sum', (f) => f.cpuMs.total.toFixed(3)],
  ['CPU ms net of idle: API', (f) => f.netCpuMs?.api.toFixed(3) ?? '-'],
  ['CPU ms net of idle: worker', (f) => f.netCpuMs?.worker.toFixed(3) ?? '-'],
  ['CPU ms net of idle: Postgres', (f) => f.netCpuMs?.postgres.toFixed(3) ?? '-'],
  ['CPU ms net of idle: redis-server', (f) => f.netCpuMs?.redis.toFixed(3) ?? '-'],
  ['CPU ms net of idle: sum', (f) => f.netCpuMs?.total.toFixed(3) ?? '-'],
  ['foreign cores meanwhile', (f) => f.foreignCores.toFixed(2)],
];

/** Console: both passes of one run side by side. */
export function formatWorkTable(w: WorkResult): string {
  const rows = [
    ['per request', `first requests (${w.submit.requests} at ${w.submit.rate}/s)`, `replays (${w.replay.requests})`],
    ...WORK_ROWS.map(([label, f]) => [label, f(w.submit), f(w.replay)]),
  ];
  const width = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ')).join('\n');
}

/** Markdown: one column per stored run, oldest first, for one pass. */
export function workHistoryTable(history: readonly WorkHistoryEntry[], pass: 'submit' | 'replay'): string {
  const head = history.map((h) => `\`${h.codeCommit}\` ${h.date.slice(0, 10)} ${h.form}, ${h[pass].rate}/s`);
  return [
    `| per request | ${head.join(' | ')} |`,
    `| --- |${head.map(() => ' ---: ').join('|')}|`,
    ...WORK_ROWS.map(([label, f]) => `| ${label} | ${history.map((h) => f(h[pass])).join(' | ')} |`),
  ].join('\n');
}

/** Markdown: what the latest run adds beyond the history's rows. */
export function workDetails(w: WorkResult): string {
  const fmt = (r: Record<string, number>, digits = 2) =>
    Object.entries(r)
      .map(([k, v]) => `${k} ${v.toFixed(digits)}`)
      .join(', ');
  const tables = (f: WorkFigures) =>
    Object.entries(f.pg.tables)
      .map(([t, d]) => `${t} +${d.ins.toFixed(2)} ~${d.upd.toFixed(2)} (HOT ${d.hot.toFixed(2)}) -${d.del.toFixed(2)}`)
      .join('; ');
  const top = (f: WorkFigures) =>
    fmt(
      Object.fromEntries(
        Object.entries(f.redis.commands)
          .filter(([, n]) => n >= 0.005)
          .slice(0, 10),
      ),
    );
  const i = w.idle;
  return [
    ...(i
      ? [
          `- idle, per second (the same processes, no requests): CPU ms API ${i.cpuMs.api.toFixed(1)}, worker ${i.cpuMs.worker.toFixed(1)}, Postgres ${i.cpuMs.postgres.toFixed(1)}, redis-server ${i.cpuMs.redis.toFixed(1)}; ` +
            `Redis commands ${i.redis.total.toFixed(1)}; statements API ${i.pg.statements.api.toFixed(1)}, worker ${i.pg.statements.worker.toFixed(1)}; WAL ${i.pg.walBytes.toFixed(0)} bytes`,
        ]
      : []),
    `- tuples per table, first requests (inserted ~updated (HOT) -deleted): ${tables(w.submit)}`,
    `- tuples per table, replays: ${tables(w.replay) || 'none'}`,
    `- Redis commands, first requests: ${top(w.submit)}`,
    `- Redis commands, replays: ${top(w.replay) || 'none'}`,
    `- storage growth per key over the first requests (table + indexes + TOAST, no vacuum ran): ${fmt(w.bytesPerKey, 0)} bytes`,
    `- Redis memory per job: ${w.redisMemory.waitingPerJob.toFixed(0)} bytes waiting (${w.redisMemory.waitingJobs} queued with the worker stopped), ${w.redisMemory.completedPerJob.toFixed(0)} bytes completed and kept`,
    `- connections at the end: Postgres ${fmt(w.connections.postgres, 0)}; Redis ${fmt(w.connections.redis, 0)}`,
  ].join('\n');
}
