import { type BenchContext, paymentPlan } from '../context.ts';
import { type Capacity, measureCapacity } from './capacity.ts';

/** The bare route under the same generator, the same requests and a fresh key each time: the denominator. */
export function runBaseline(ctx: BenchContext): Promise<Capacity> {
  return measureCapacity(ctx, { target: 'baseline', plan: (label) => paymentPlan(ctx, `baseline-${label}`, { mode: 'fresh' }) });
}
