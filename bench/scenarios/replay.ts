import { waitForDrain } from '../backlog.ts';
import { type BenchContext, paymentPlan } from '../context.ts';
import { keyFor } from '../load/request-plan.ts';
import { measurePoint, type Point } from '../measure.ts';
import { type Capacity, measureCapacity } from './capacity.ts';

export interface ReplayResult extends Capacity {
  keys: number;
  /** the first requests of every key, sent as a burst before the replays */
  firstRequests: Point;
  /** after all the replays: still one request and one payment per key */
  effects: { keys: number; requests: number; payments: number; ok: boolean };
}

/**
 * Repeats of completed keys: the keys are first sent once and completed, then replayed in a cycle
 * (same bytes, so same fingerprint) at the saturation point and along the open-loop ladder.
 */
export async function runReplay(ctx: BenchContext): Promise<ReplayResult> {
  const keys = ctx.profile.replay.keys;
  const plan = paymentPlan(ctx, 'replay', { mode: 'cycle', count: keys });
  const { point: firstRequests } = await measurePoint(ctx, {
    target: 'service',
    mode: { kind: 'burst', total: keys },
    plan,
    connections: 100,
  });
  const drain = await waitForDrain(ctx.probe, 60_000);
  if (!drain.drained) throw new Error(`replay: ${drain.left} of the first requests still unfinished after 60 s`);
  ctx.log(`replay: ${keys} keys sent once and completed`);
  const cap = await measureCapacity(ctx, { target: 'service', plan: () => plan });
  const all = Array.from({ length: keys }, (_, k) => keyFor(plan, k));
  const effects = await ctx.probe.effectsByKey(ctx.tenant, all);
  const payments = [...effects.values()].reduce((a, e) => a + e.payments, 0);
  return {
    ...cap,
    keys,
    firstRequests,
    effects: { keys, requests: effects.size, payments, ok: effects.size === keys && payments === keys },
  };
}
