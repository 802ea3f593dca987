import type { CpuReport } from '../system/cpu-meter.ts';
import type { PgCounters } from './pg-counters.ts';
import { commandDelta, type RedisCounters } from './redis-counters.ts';

/** CPU time of each part of the system, in ms, since it started. */
export interface CpuReading {
  api: number;
  worker: number;
  /** the private instance's postmaster and every process under it (backends, checkpointer, WAL writer) */
  postgres: number;
  redis: number;
}

export interface Snapshot {
  pg: PgCounters;
  redis: RedisCounters;
  cpu: CpuReading;
}

/** What one request cost over a measured window: every figure divided by the requests sent. */
export interface WorkFigures {
  requests: number;
  /** offered rate, open loop */
  rate: number;
  /** from the first request to the end of the window (settling included) */
  seconds: number;
  pg: {
    /** per table with any change: inserted, updated (HOT included), HOT-updated, deleted */
    tables: Record<string, { ins: number; upd: number; hot: number; del: number }>;
    tuples: { ins: number; upd: number; hot: number; del: number };
    walBytes: number;
    walRecords: number;
    walFpi: number;
    /** the service's transactions, the harness's own taken out */
    transactions: number;
    /** statements each process sent (pg_stat_statements by role, BEGIN/COMMIT included): its round trips */
    statements: { api: number; worker: number };
  };
  redis: { commands: Record<string, number>; total: number; lua: number; usec: number };
  cpuMs: CpuReading & { total: number };
  /**
   * cpuMs less what the same processes use idle over as many seconds (periodic work: reconciler,
   * stalled-job checks, relay polls, timers): the part that grows with the rate
   */
  netCpuMs?: CpuReading & { total: number };
  /** cores other processes on the machine used during the window */
  foreignCores: number;
}

/** The difference of two snapshots, per request. */
export function workFigures(
  a: Snapshot,
  b: Snapshot,
  o: { requests: number; rate: number; seconds: number; cpu: CpuReport; roles: { api: string; worker: string } },
): WorkFigures {
  const n = o.requests;
  const per = (x: number) => x / n;
  const tables: WorkFigures['pg']['tables'] = {};
  const tuples = { ins: 0, upd: 0, hot: 0, del: 0 };
  for (const [name, t] of Object.entries(b.pg.tables)) {
    const t0 = a.pg.tables[name] ?? { ins: 0, upd: 0, hot: 0, del: 0 };
    const d = { ins: t.ins - t0.ins, upd: t.upd - t0.upd, hot: t.hot - t0.hot, del: t.del - t0.del };
    if (!d.ins && !d.upd && !d.del) continue;
    tables[name] = { ins: per(d.ins), upd: per(d.upd), hot: per(d.hot), del: per(d.del) };
    for (const k of ['ins', 'upd', 'hot', 'del'] as const) tuples[k] += per(d[k]);
  }
  const statements = (role: string) => per((b.pg.statements[role] ?? 0) - (a.pg.statements[role] ?? 0));
  const redis = commandDelta(a.redis, b.redis);
  const cpu = {
    api: per(b.cpu.api - a.cpu.api),
    worker: per(b.cpu.worker - a.cpu.worker),
    postgres: per(b.cpu.postgres - a.cpu.postgres),
    redis: per(b.cpu.redis - a.cpu.redis),
  };
  return {
    requests: n,
    rate: o.rate,
    seconds: o.seconds,
    pg: {
      tables,
      tuples,
      walBytes: per(b.pg.walBytes - a.pg.walBytes),
      walRecords: per(b.pg.walRecords - a.pg.walRecords),
      walFpi: per(b.pg.walFpi - a.pg.walFpi),
      transactions: per(b.pg.transactions - a.pg.transactions - (b.pg.probeQueries - a.pg.probeQueries)),
      statements: { api: statements(o.roles.api), worker: statements(o.roles.worker) },
    },
    redis: {
      commands: Object.fromEntries(Object.entries(redis.calls).map(([c, k]) => [c, per(k)])),
      total: per(redis.total),
      lua: per(redis.lua),
      usec: per(b.redis.usec - a.redis.usec),
    },
    cpuMs: { ...cpu, total: cpu.api + cpu.worker + cpu.postgres + cpu.redis },
    foreignCores: (o.cpu.groups.foreign ?? 0) / 100,
  };
}

/** Takes what an idle second costs (`idle`, figures per second) out of a pass's CPU per request. */
export function withoutIdle(f: WorkFigures, idle: WorkFigures): WorkFigures {
  const k = f.seconds / f.requests;
  const net = (key: keyof CpuReading) => f.cpuMs[key] - idle.cpuMs[key] * k;
  const cpu = { api: net('api'), worker: net('worker'), postgres: net('postgres'), redis: net('redis') };
  return { ...f, netCpuMs: { ...cpu, total: cpu.api + cpu.worker + cpu.postgres + cpu.redis } };
}
