import { createAccounts } from '../accounts.ts';
import { startCpuMeter } from '../system/cpu-meter.ts';
import { createPrivateStack, type PrivateStack, STACK_DATABASE } from '../work/private-stack.ts';
import { type StorageResult, measureStorage } from '../work/storage.ts';
import { loadAcross, stackPlan } from '../work/stack-load.ts';

const ACCOUNTS = 50;
const CONNECTIONS = 64;

/** One configuration driven as hard as a closed loop at 64 connections spread over its API ports goes. */
export interface ScalePoint {
  apis: number;
  workers: number;
  /** 2xx answers per second */
  accepted: number;
  /** requests that became terminal per second over the same window */
  completed: number;
  /** cores used over the window: the API processes together, the workers together, Postgres, redis-server, the generators, everything else on the machine */
  cores: { api: number; worker: number; postgres: number; redis: number; generator: number; foreign: number; machine: number };
  /** cores of the busiest single API and worker process (a Node process tops out near 1) */
  busiest: { api: number; worker: number };
  /** seconds the workers needed afterwards to finish the backlog left by the window */
  drainSeconds: number;
  connections: { postgres: Record<string, number>; redis: Record<string, number> };
}

export interface ScaleResult {
  connections: number;
  windowMs: number;
  points: ScalePoint[];
  skipped: { apis: number; workers: number; reason: string }[];
  storage: StorageResult;
}

/**
 * What saturates first with 1, 2 and 4 API processes and 1 to 4 workers, on a Postgres and a
 * Redis of their own: each configuration is started afresh, warmed up, then held at saturation
 * (closed loop) while the CPU of every part is read; the backlog is drained before the next.
 * Ends with the storage each completed key takes in Postgres and each job in Redis.
 */
export async function runScale(opts: { windowMs: number; configs: [number, number][] }, log: (line: string) => void): Promise<ScaleResult> {
  const stack = await createPrivateStack();
  try {
    const points: ScalePoint[] = [];
    let accounts: string[] | undefined;
    const skipped: ScaleResult['skipped'] = [];
    for (const [apis, workers] of opts.configs) {
      try {
        await stack.start({ apis, workers });
      } catch (err) {
        // a configuration that cannot start on a busy machine is reported, not fatal to the others
        skipped.push({ apis, workers, reason: (err as Error).message });
        log(`scale ${apis} API x ${workers} workers: skipped, ${(err as Error).message}`);
        await stack.stop();
        continue;
      }
      accounts ??= await createAccounts(stack.targets[0]!, stack.secret, ACCOUNTS, 'scale');
      const plan = (prefix: string) => stackPlan(stack.secret, accounts!, prefix, { mode: 'fresh' });
      await loadAcross(stack.targets, {
        plan: plan(`scale-${apis}-${workers}-warm`),
        connections: CONNECTIONS,
        mode: { kind: 'closed', durationMs: 1_500 },
      });
      await stack.untilTerminal(await allRequests(stack));
      const point = await saturate(stack, { apis, workers, windowMs: opts.windowMs, plan: plan(`scale-${apis}-${workers}`) });
      const drainStart = Date.now();
      await stack.untilTerminal(await allRequests(stack), 180_000);
      point.drainSeconds = (Date.now() - drainStart) / 1000;
      points.push(point);
      log(
        `scale ${apis} API x ${workers} workers: accepted ${point.accepted.toFixed(0)}/s, completed ${point.completed.toFixed(0)}/s; cores api ${point.cores.api.toFixed(2)} (busiest ${point.busiest.api.toFixed(2)}) ` +
          `workers ${point.cores.worker.toFixed(2)} (busiest ${point.busiest.worker.toFixed(2)}) postgres ${point.cores.postgres.toFixed(2)} redis ${point.cores.redis.toFixed(2)} ` +
          `generator ${point.cores.generator.toFixed(2)} foreign ${point.cores.foreign.toFixed(2)}, machine ${point.cores.machine.toFixed(2)}; backlog drained in ${point.drainSeconds.toFixed(1)} s`,
      );
      await stack.stop();
    }
    const storage = await measureStorage(stack);
    log(`scale: bytes per completed key after VACUUM FULL ${JSON.stringify(storage.compact)}; Redis ${JSON.stringify(storage.redis)}`);
    return { connections: CONNECTIONS, windowMs: opts.windowMs, points, skipped, storage };
  } finally {
    await stack.close();
  }
}

async function allRequests(stack: PrivateStack): Promise<number> {
  const [r] = await stack.probe.query<{ n: string }>(`select count(*) as n from idemq.requests`);
  return Number(r!.n);
}

async function saturate(
  stack: PrivateStack,
  o: { apis: number; workers: number; windowMs: number; plan: ReturnType<typeof stackPlan> },
): Promise<ScalePoint> {
  const servicePids = new Set([...stack.pids, stack.redis.pid() ?? -1]);
  const meter = startCpuMeter({
    mine: (pid, ppid) =>
      servicePids.has(pid) ? 'service' : pid === process.pid ? 'harness' : ppid === process.pid ? 'generator' : undefined,
    database: STACK_DATABASE,
  });
  const [cpu0, busy0, done0, t0] = [stack.cpu(), stack.perProcess(), await stack.probe.terminal(), performance.now()];
  let connections: ScalePoint['connections'] | undefined;
  // connections are counted mid-window, when every pool has grown to what the load needs
  const grab = setTimeout(() => {
    void stack.connections().then(
      (c) => (connections = c),
      () => undefined,
    );
  }, o.windowMs / 2);
  const res = await loadAcross(stack.targets, { plan: o.plan, connections: CONNECTIONS, mode: { kind: 'closed', durationMs: o.windowMs } });
  const [cpu1, busy1, done1, t1] = [stack.cpu(), stack.perProcess(), await stack.probe.terminal(), performance.now()];
  const cpu = meter.stop();
  clearTimeout(grab);
  const s = (t1 - t0) / 1000;
  const cores = (ms: number) => ms / 1000 / s;
  return {
    apis: o.apis,
    workers: o.workers,
    accepted: res.ok / s,
    completed: (done1 - done0) / s,
    cores: {
      api: cores(cpu1.api - cpu0.api),
      worker: cores(cpu1.worker - cpu0.worker),
      postgres: cores(cpu1.postgres - cpu0.postgres),
      redis: cores(cpu1.redis - cpu0.redis),
      generator: (cpu.groups.generator ?? 0) / 100,
      foreign: (cpu.groups.foreign ?? 0) / 100,
      machine: cpu.machineBusyCores,
    },
    busiest: { api: cores(busiest(busy0.api, busy1.api)), worker: cores(busiest(busy0.worker, busy1.worker)) },
    drainSeconds: 0,
    connections: connections ?? (await stack.connections()),
  };
}

/** The largest CPU time any one process used between two readings by pid. */
function busiest(a: Record<number, number>, b: Record<number, number>): number {
  return Math.max(0, ...Object.entries(b).map(([pid, ms]) => ms - (a[Number(pid)] ?? 0)));
}
