import { readdirSync, readFileSync } from 'node:fs';
import { readProcTimes, TICKS_PER_SECOND as TICKS } from './proc-ticks.ts';

/** Who a process belongs to, as far as the bench can tell. */
export interface Classifier {
  /** this run's own processes by pid: api, workers, baseline, generators */
  mine(pid: number, ppid: number): string | undefined;
  /** the bench database's name, to tell its Postgres backends from other engineers' */
  database: string;
  /** more databases of this run (the naive path's) */
  databases?: string[];
}

/** the parts of a process's /proc stat the meter uses */
function readStat(pid: number): { ticks: number; ppid: number; start: number } | undefined {
  const t = readProcTimes(pid);
  return t && { ticks: t.own, ppid: t.ppid, start: t.start };
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

function machine(): { busy: number; total: number; uptimeTicks: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return { busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0), total, uptimeTicks: uptime * TICKS };
}

const PG_BACKEND = /^postgres: \S+ \S+ (\S+) (?:\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\])/;

function classify(pid: number, ppid: number, c: Classifier): string {
  const own = c.mine(pid, ppid);
  if (own) return own;
  const cmd = cmdline(pid);
  if (!cmd) return 'kernel';
  const backend = PG_BACKEND.exec(cmd);
  if (backend) return backend[1] === c.database || c.databases?.includes(backend[1]!) ? 'postgres' : 'foreign';
  if (cmd.startsWith('postgres') || cmd.startsWith('redis-server') || cmd.includes('/redis-server')) return 'infra';
  return 'foreign';
}

export interface CpuReport {
  /** percent of one core per class: the run's own processes, postgres (bench backends), infra (Redis, Postgres background), foreign, kernel */
  groups: Record<string, number>;
  /** cores of the machine that were busy on average, whoever used them (includes softirq) */
  machineBusyCores: number;
}

/**
 * Measures CPU use per class of process between start and `stop()`, by scanning /proc every
 * second: "foreign" is everything that is not this run's, which is how contention from other
 * engineers' tests on the same two cores is seen and reported.
 */
export function startCpuMeter(c: Classifier, scanMs = 1_000) {
  const m0 = machine();
  const seen = new Map<number, { first: number; last: number; cls: string }>();
  const scan = (initial: boolean) => {
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid)) continue;
      const s = readStat(pid);
      if (!s) continue;
      const known = seen.get(pid);
      if (known) known.last = s.ticks;
      // a process born after the start used all of its ticks inside the window
      else seen.set(pid, { first: initial || s.start < m0.uptimeTicks ? s.ticks : 0, last: s.ticks, cls: classify(pid, s.ppid, c) });
    }
  };
  scan(true);
  const timer = setInterval(() => scan(false), scanMs);
  return {
    stop(): CpuReport {
      clearInterval(timer);
      scan(false);
      const m1 = machine();
      const seconds = (m1.uptimeTicks - m0.uptimeTicks) / TICKS;
      const groups: Record<string, number> = {};
      for (const p of seen.values()) groups[p.cls] = (groups[p.cls] ?? 0) + (p.last - p.first);
      for (const k of Object.keys(groups)) groups[k] = (groups[k]! / TICKS / seconds) * 100;
      return { groups, machineBusyCores: (m1.busy - m0.busy) / TICKS / seconds };
    },
  };
}
