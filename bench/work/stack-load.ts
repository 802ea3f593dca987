import type { Target } from '../load/connection-pool.ts';
import type { LoadMode } from '../load/http-load.ts';
import type { RequestPlan } from '../load/request-plan.ts';
import { type MergedLoad, runLoadProcesses } from '../load/run-load.ts';

/** A payment plan over the stack's accounts. */
export function stackPlan(secret: string, accounts: readonly string[], keyPrefix: string, keys: RequestPlan['keys']): RequestPlan {
  return { path: '/v1/payments', secret, accounts, currency: 'USD', keyPrefix, keys };
}

/**
 * One load spread evenly over several API ports: a generator process per port, each with its
 * share of the connections and of the rate and keys of its own (the plan's prefix and the port's
 * index), all at once.
 */
export async function loadAcross(
  targets: readonly Target[],
  o: { plan: RequestPlan; mode: LoadMode; connections: number },
): Promise<{ ok: number; answered: number; status: Record<string, number> }> {
  const n = targets.length;
  const loads: MergedLoad[] = await Promise.all(
    targets.map((target, index) =>
      runLoadProcesses({
        target,
        connections: Math.max(1, Math.round(o.connections / n)),
        wave: Math.max(1, Math.round(o.connections / n)),
        mode: o.mode.kind === 'rate' ? { ...o.mode, rate: o.mode.rate / n } : o.mode,
        plan: n === 1 ? o.plan : { ...o.plan, keyPrefix: `${o.plan.keyPrefix}-${index}` },
        shard: { index: 0, count: 1 },
        keepBodies: false,
        timeoutMs: 10_000,
      }),
    ),
  );
  const status: Record<string, number> = {};
  for (const l of loads) for (const [code, k] of Object.entries(l.status)) status[code] = (status[code] ?? 0) + k;
  const ok = Object.entries(status)
    .filter(([code]) => code.startsWith('2'))
    .reduce((t, [, k]) => t + k, 0);
  return { ok, answered: loads.reduce((t, l) => t + l.answered, 0), status };
}
