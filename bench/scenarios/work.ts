import { createAccounts } from '../accounts.ts';
import type { RequestPlan } from '../load/request-plan.ts';
import type { Profile } from '../options.ts';
import { startCpuMeter } from '../system/cpu-meter.ts';
import { type Snapshot, type WorkFigures, withoutIdle, workFigures } from '../work/figures.ts';
import { createPrivateStack, ROLES, STACK_DATABASE } from '../work/private-stack.ts';
import { readRedisCounters } from '../work/redis-counters.ts';
import { loadAcross, stackPlan } from '../work/stack-load.ts';

const ACCOUNTS = 50;
/** Postgres backends publish their counters when idle, at the latest 10 s after the last flush */
const SETTLE_MS = 11_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WorkResult {
  /** the same processes idle, per second (`requests` holds the seconds): the fixed cost under every pass */
  idle: WorkFigures;
  /** first requests of fresh keys, end to end */
  submit: WorkFigures;
  /** the same keys again, all completed: replays */
  replay: WorkFigures;
  /** growth of each table with its indexes over the submit pass, bytes per key (no vacuum ran) */
  bytesPerKey: Record<string, number>;
  /** Redis used_memory per job: queued with no worker running, and completed (kept by removeOnComplete) */
  redisMemory: { waitingPerJob: number; waitingJobs: number; completedPerJob: number };
  /** open connections at the end: Postgres by role and application name, Redis by client name */
  connections: { postgres: Record<string, number>; redis: Record<string, number> };
}

/**
 * Counts the work behind one request, end to end: an API process and a worker process on a
 * Postgres and a Redis of their own (so nothing else moves their counters), after a warm-up, run
 * `requests` payments at a fixed open-loop rate to completion, then replay the same keys. Every
 * counter (tuples, WAL, statements, Redis commands, CPU of each process) is read before and after
 * each pass and divided by the requests.
 */
export async function runWork(profile: Profile['work'], log: (line: string) => void): Promise<WorkResult> {
  const stack = await createPrivateStack();
  try {
    await stack.start({ apis: 1, workers: 1 });
    const accounts = await createAccounts(stack.targets[0]!, stack.secret, ACCOUNTS, 'work');
    const plan = (prefix: string, keys: RequestPlan['keys']) => stackPlan(stack.secret, accounts, prefix, keys);
    const load = async (p: RequestPlan, count: number) => {
      const res = await loadAcross(stack.targets, {
        plan: p,
        connections: 32,
        mode: { kind: 'rate', rate: profile.rate, durationMs: (count / profile.rate) * 1000 },
      });
      if (res.ok !== count) throw new Error(`work: ${res.ok} of ${count} requests answered 2xx (${JSON.stringify(res.status)})`);
    };
    // everything of this run (the stack, the harness, its generators) is "mine": the rest is foreign
    const foreignMeter = () =>
      startCpuMeter({
        mine: (pid, ppid) => (stack.pids.includes(pid) || pid === process.pid || ppid === process.pid ? 'mine' : undefined),
        database: STACK_DATABASE,
      });
    let finished = ACCOUNTS;
    const pass = async (name: string, p: RequestPlan, terminal: boolean): Promise<{ figures: WorkFigures; a: Snapshot; b: Snapshot }> => {
      const a = await stack.snapshot();
      const meter = foreignMeter();
      const started = performance.now();
      await load(p, profile.requests);
      if (terminal) await stack.untilTerminal((finished += profile.requests));
      await sleep(SETTLE_MS);
      const b = await stack.snapshot();
      const figures = withoutIdle(
        workFigures(a, b, {
          requests: profile.requests,
          rate: profile.rate,
          seconds: (performance.now() - started) / 1000,
          cpu: meter.stop(),
          roles: ROLES,
        }),
        idle,
      );
      log(`work, ${name}: ${describe(figures)}`);
      return { figures, a, b };
    };

    log(
      `work: warm-up, ${profile.warmup} payments at ${profile.rate}/s on a private Postgres (port ${stack.postgres.port}) and Redis (port ${stack.redis.port})`,
    );
    await load(plan('work-warm', { mode: 'fresh' }), profile.warmup);
    await stack.untilTerminal((finished += profile.warmup));
    await sleep(SETTLE_MS);
    const i0 = await stack.snapshot();
    const idleMeter = foreignMeter();
    const idleStarted = performance.now();
    await sleep(SETTLE_MS);
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    const idle = workFigures(i0, await stack.snapshot(), {
      requests: idleSeconds,
      rate: 0,
      seconds: idleSeconds,
      cpu: idleMeter.stop(),
      roles: ROLES,
    });
    log(`work, idle per second: ${describe(idle)}`);
    const submit = await pass('first requests', plan('work-pay', { mode: 'fresh' }), true);
    const replay = await pass('replays', plan('work-pay', { mode: 'cycle', count: profile.requests }), false);

    const connections = await stack.connections();
    // jobs waiting: the worker stopped, a batch is accepted and stays queued in Redis
    await stack.stopWorkers();
    const before = (await readRedisCounters(stack.admin)).usedMemory;
    const waitingJobs = Math.min(1_000, profile.requests);
    await load(plan('work-waiting', { mode: 'fresh' }), waitingJobs);
    const waitingPerJob = ((await readRedisCounters(stack.admin)).usedMemory - before) / waitingJobs;

    const bytesPerKey = Object.fromEntries(
      Object.entries(submit.b.pg.bytes)
        .map(([t, bytes]): [string, number] => [t, (bytes - (submit.a.pg.bytes[t] ?? 0)) / profile.requests])
        .filter(([, b]) => b > 0),
    );
    return {
      idle,
      submit: submit.figures,
      replay: replay.figures,
      bytesPerKey,
      redisMemory: {
        waitingPerJob,
        waitingJobs,
        completedPerJob: (submit.b.redis.usedMemory - submit.a.redis.usedMemory) / profile.requests,
      },
      connections,
    };
  } finally {
    await stack.close();
  }
}

function describe(f: WorkFigures): string {
  const t = f.pg.tuples;
  return (
    `${f.requests} at ${f.rate}/s; per request: tuples +${t.ins.toFixed(2)} ~${t.upd.toFixed(2)} (HOT ${t.hot.toFixed(2)}) -${t.del.toFixed(2)}, ` +
    `WAL ${f.pg.walBytes.toFixed(0)} B in ${f.pg.walRecords.toFixed(1)} records, ${f.pg.transactions.toFixed(2)} transactions, ` +
    `statements api ${f.pg.statements.api.toFixed(2)} worker ${f.pg.statements.worker.toFixed(2)}, Redis ${f.redis.total.toFixed(2)} commands (${f.redis.lua.toFixed(2)} Lua), ` +
    `CPU ms api ${f.cpuMs.api.toFixed(3)} worker ${f.cpuMs.worker.toFixed(3)} postgres ${f.cpuMs.postgres.toFixed(3)} redis ${f.cpuMs.redis.toFixed(3)} = ${f.cpuMs.total.toFixed(3)}` +
    `${f.netCpuMs ? ` (${f.netCpuMs.total.toFixed(3)} net of idle)` : ''}; foreign ${f.foreignCores.toFixed(2)} cores`
  );
}
