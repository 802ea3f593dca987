import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc times (getconf CLK_TCK; 100 on every Linux we run on). */
export const TICKS_PER_SECOND = 100;

/** One process's line of /proc/<pid>/stat, in clock ticks. */
export interface ProcTimes {
  ppid: number;
  /** utime + stime: every thread of the process */
  own: number;
  /** cutime + cstime: children it has waited for */
  reaped: number;
  /** ticks since boot at which the process started */
  start: number;
}

/** Reads /proc/<pid>/stat; undefined when the process is gone. */
export function readProcTimes(pid: number): ProcTimes | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces: fields are counted after its closing parenthesis
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return { ppid: f[1]!, own: f[11]! + f[12]!, reaped: f[13]! + f[14]!, start: f[19]! };
  } catch {
    return undefined;
  }
}

/** CPU time of one process, all its threads, in ms; 0 when it is gone. */
export function processCpuMs(pid: number): number {
  return ((readProcTimes(pid)?.own ?? 0) * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU time of a process and all its children in ms: its own, the children it has reaped (a
 * Postgres backend that exited), and the live children's. A child counts once whether it is alive
 * or reaped, so the difference of two readings is the tree's CPU in between.
 */
export function processTreeCpuMs(root: number): number {
  const r = readProcTimes(root);
  if (!r) return 0;
  let ticks = r.own + r.reaped;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === root) continue;
    const t = readProcTimes(pid);
    if (t?.ppid === root) ticks += t.own;
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}
