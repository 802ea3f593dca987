import type pg from 'pg';
import { upstreamKeyFor } from '../../src/operations/forward/upstream-key.ts';
import type { CountingUpstream } from './counting-upstream.ts';

/** One logical order sent through the forward route: one client key. */
export interface OrderPlan {
  key: string;
  body: unknown;
  ids: Set<string>;
}

export interface ForwardFigures {
  keys: number;
  accepted: number;
  effects: number;
  attempts: number;
  /** attempts beyond the first of each key: same-key retries */
  sameKeyRetries: number;
  deduped: number;
  overlaps: number;
}

/**
 * The forward route's verdict: every order key accepted under one request, which succeeded with
 * the upstream's answer; the upstream holds exactly one effect per key under the key derived from
 * it (none lost), and none under any other key (a duplicate would need a second key); no two
 * attempts of a key were open at once.
 */
export async function checkForward(
  pool: pg.Pool,
  tenant: string,
  plans: OrderPlan[],
  upstream: CountingUpstream,
): Promise<{ violations: string[]; figures: ForwardFigures }> {
  const violations: string[] = [];
  const ids = plans.flatMap((p) => [...p.ids]);
  const { rows } = await pool.query<{
    id: string;
    idempotency_key: string;
    status: string;
    error: { code: string } | null;
    attempts: number;
  }>('select id, idempotency_key, status, error, attempts from idemq.requests where id = any($1::uuid[])', [ids]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const expected = new Set<string>();
  for (const plan of plans) {
    const upstreamKey = upstreamKeyFor(tenant, plan.key);
    expected.add(upstreamKey);
    if (plan.ids.size !== 1) {
      violations.push(`order key ${plan.key} was answered with ${plan.ids.size} ids`);
      continue;
    }
    const row = byId.get([...plan.ids][0]!);
    if (!row) violations.push(`order key ${plan.key} got a 202 for a request Postgres does not hold`);
    else if (row.idempotency_key !== plan.key) violations.push(`order key ${plan.key} got the id of key ${row.idempotency_key}`);
    else if (row.status !== 'succeeded') violations.push(`order key ${plan.key} ended ${row.status} ${row.error?.code ?? ''}`);
    const effects = upstream.effects.get(upstreamKey) ?? 0;
    if (effects !== 1) violations.push(`order key ${plan.key}: ${effects} effects upstream`);
  }
  for (const key of upstream.effects.keys()) if (!expected.has(key)) violations.push(`an effect upstream under a key no order has: ${key}`);
  if (upstream.overlaps > 0) violations.push(`${upstream.overlaps} upstream attempts overlapped another attempt of the same key`);
  const attempts = [...upstream.attempts.values()].reduce((a, b) => a + b, 0);
  return {
    violations,
    figures: {
      keys: plans.length,
      accepted: plans.filter((p) => p.ids.size > 0).length,
      effects: [...upstream.effects.values()].reduce((a, b) => a + b, 0),
      attempts,
      sameKeyRetries: attempts - upstream.attempts.size,
      deduped: upstream.deduped,
      overlaps: upstream.overlaps,
    },
  };
}
