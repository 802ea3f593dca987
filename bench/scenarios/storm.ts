import { type BenchContext, paymentPlan, type TargetName } from '../context.ts';
import { keyFor } from '../load/request-plan.ts';
import { measurePoint, type Point, repeatIfContended } from '../measure.ts';
import { median } from '../stats.ts';

export interface StormCheck {
  /** keys whose answers all named one request id, the one Postgres holds for the key */
  keysWithOneId: number;
  /** keys with exactly one payment once every request finished */
  keysWithOneEffect: number;
  keys: number;
  unfinished: number;
  ok: boolean;
  problems: string[];
}

export interface StormRun {
  target: TargetName;
  point: Point;
  /** from the moment all requests were due to the last answer */
  burstMs: number;
  check?: StormCheck;
}

export interface StormVariant {
  keys: number;
  retriesPerKey: number;
  runs: StormRun[];
  serviceMs: number;
  baselineMs: number;
  ratio: number;
  oneEffect: boolean;
}

/**
 * A burst of `total` requests over `keys` keys (request i carries key i mod keys, so the retries of
 * a key are in flight together), all due at once on pre-opened connections. The service must answer
 * every one with its key's single request id and make exactly one payment per key.
 */
export async function runStorm(ctx: BenchContext, keys: number): Promise<StormVariant> {
  const s = ctx.profile.storm;
  const runs: StormRun[] = [];
  for (let rep = 0; rep < s.reps; rep++) {
    for (const target of ['service', 'baseline'] as const) {
      let attempt = 0;
      const { result: run } = await repeatIfContended(
        ctx,
        `storm ${keys}x${s.total / keys} ${target}`,
        async () => {
          // a fresh set of keys for every burst: a repeat must not replay the keys of the first one
          const plan = paymentPlan(ctx, `storm${keys}-${target}-${rep}-${attempt++}`, { mode: 'cycle', count: keys });
          const { point, load } = await measurePoint(ctx, {
            target,
            mode: { kind: 'burst', total: s.total },
            plan,
            connections: s.connections,
            keepBodies: true,
            timeoutMs: 30_000,
          });
          const r: StormRun = { target, point, burstMs: point.elapsedMs };
          if (target === 'service')
            r.check = await checkStorm(
              ctx,
              Array.from({ length: keys }, (_, k) => keyFor(plan, k)),
              load.ids,
              point,
            );
          return r;
        },
        (r) => r.point,
      );
      runs.push(run);
      ctx.log(
        `storm ${keys}x${s.total / keys} ${target}: ${run.point.answered} answered in ${run.burstMs.toFixed(0)} ms` +
          (run.check ? (run.check.ok ? ', one id and one effect per key' : `, PROBLEMS: ${run.check.problems.join('; ')}`) : ''),
      );
    }
  }
  const serviceMs = median(runs.filter((r) => r.target === 'service').map((r) => r.burstMs));
  const baselineMs = median(runs.filter((r) => r.target === 'baseline').map((r) => r.burstMs));
  return {
    keys,
    retriesPerKey: s.total / keys,
    runs,
    serviceMs,
    baselineMs,
    ratio: serviceMs / baselineMs,
    oneEffect: runs.every((r) => r.check?.ok ?? true),
  };
}

async function checkStorm(ctx: BenchContext, keys: string[], answered: Record<string, string[]>, point: Point): Promise<StormCheck> {
  const deadline = Date.now() + 30_000;
  let effects = await ctx.probe.effectsByKey(ctx.tenant, keys);
  const unfinished = () => [...effects.values()].filter((e) => e.status === 'queued' || e.status === 'processing').length;
  while (unfinished() > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    effects = await ctx.probe.effectsByKey(ctx.tenant, keys);
  }
  let keysWithOneId = 0;
  let keysWithOneEffect = 0;
  for (const key of keys) {
    const e = effects.get(key);
    const ids = answered[key] ?? [];
    if (e && ids.length === 1 && ids[0] === e.id) keysWithOneId++;
    if (e?.payments === 1) keysWithOneEffect++;
  }
  const problems: string[] = [];
  if (point.non2xx > 0) problems.push(`${point.non2xx} non-2xx answers (${JSON.stringify(point.status)})`);
  if (point.errors > 0) problems.push(`${point.errors} requests without an answer`);
  if (keysWithOneId < keys.length) problems.push(`${keys.length - keysWithOneId} keys answered with other or several ids`);
  if (keysWithOneEffect < keys.length) problems.push(`${keys.length - keysWithOneEffect} keys without exactly one payment`);
  if (unfinished() > 0) problems.push(`${unfinished()} keys unfinished after 30 s`);
  return { keysWithOneId, keysWithOneEffect, keys: keys.length, unfinished: unfinished(), ok: problems.length === 0, problems };
}
