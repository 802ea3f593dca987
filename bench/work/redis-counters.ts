import type { Redis } from 'ioredis';

/** Cumulative Redis counters at one moment. */
export interface RedisCounters {
  /** calls per command (INFO commandstats), commands run inside Lua scripts included */
  calls: Record<string, number>;
  /** Redis's own time spent in commands, µs */
  usec: number;
  usedMemory: number;
}

const LUA = ['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro'];

/** `cmdstat_evalsha:calls=12,usec=345,...` lines, by command. */
export function parseCommandStats(info: string): Map<string, { calls: number; usec: number }> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return stats;
}

export async function readRedisCounters(redis: Redis): Promise<RedisCounters> {
  const stats = parseCommandStats((await redis.info('commandstats')) as string);
  const memory = /^used_memory:(\d+)/m.exec((await redis.info('memory')) as string);
  return {
    calls: Object.fromEntries([...stats].map(([cmd, s]) => [cmd, s.calls])),
    usec: [...stats.values()].reduce((t, s) => t + s.usec, 0),
    usedMemory: Number(memory?.[1] ?? 0),
  };
}

/** Commands between two readings, the harness's own INFO calls left out, most called first. */
export function commandDelta(a: RedisCounters, b: RedisCounters): { calls: Record<string, number>; total: number; lua: number } {
  const calls = Object.entries(b.calls)
    .filter(([cmd]) => cmd !== 'info')
    .map(([cmd, n]): [string, number] => [cmd, n - (a.calls[cmd] ?? 0)])
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1]);
  return {
    calls: Object.fromEntries(calls),
    total: calls.reduce((t, [, n]) => t + n, 0),
    lua: calls.filter(([cmd]) => LUA.includes(cmd)).reduce((t, [, n]) => t + n, 0),
  };
}

/** Open connections by client name (`idemq-<role>` for the service's own). */
export async function redisClientsByName(redis: Redis): Promise<Record<string, number>> {
  const list = (await redis.client('LIST')) as string;
  const out: Record<string, number> = {};
  for (const line of list.split('\n')) {
    const name = /\bname=(\S*)/.exec(line)?.[1];
    if (name === undefined) continue;
    out[name || '(unnamed)'] = (out[name || '(unnamed)'] ?? 0) + 1;
  }
  return out;
}
