import type { Target } from './load/connection-pool.ts';
import type { RequestPlan } from './load/request-plan.ts';
import type { Probe } from './probe.ts';
import type { Profile } from './options.ts';
import type { StageSources } from './system/stage-sampler.ts';

/** What every scenario needs: where to send, as whom, and how to look at the database. */
export interface BenchContext {
  profile: Profile;
  runId: string;
  tenant: string;
  secret: string;
  accounts: string[];
  /** `naive`: the naive path, while the naive scenario runs; `upstream`: the gateway scenario's upstream, when it is part of the run */
  targets: { service: Target; baseline: Target; naive?: Target; upstream?: Target };
  probe: Probe;
  /** the run's processes, to account CPU to them; the database name tells its Postgres backends */
  pids: { api: number; workers: number[]; baseline: number; naive?: number[]; upstream?: number };
  /** the databases whose Postgres backends count as this run's */
  database: string;
  databases?: string[];
  /** the API's and the workers' metrics, for the stage timings */
  stageSources: StageSources;
  log(line: string): void;
}

export type TargetName = keyof BenchContext['targets'];

/** A payment plan of this run; the prefix keeps the keys of every load apart from all others. */
export function paymentPlan(ctx: BenchContext, prefix: string, keys: RequestPlan['keys']): RequestPlan {
  return { path: '/v1/payments', secret: ctx.secret, accounts: ctx.accounts, currency: 'USD', keyPrefix: `${ctx.runId}-${prefix}`, keys };
}
