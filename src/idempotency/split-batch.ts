import { isTransientError } from '../retry-policy.ts';

/**
 * A key statement failed for this request alone, for a reason that is neither the client's (the
 * API refuses what it can foresee) nor a known infrastructure failure: nothing was recorded for it.
 */
export class RequestNotRecorded extends Error {
  /** Postgres refused the row's own content (see refusedForContent): the client's to change, not to retry */
  readonly byContent: boolean;
  constructor(cause: unknown) {
    super('Postgres refused the statement that records or finds this idempotency key', { cause });
    this.name = 'RequestNotRecorded';
    this.byContent = refusedForContent(cause);
  }
}

/**
 * A refusal of the data itself: SQLSTATE class 22 (data_exception, e.g. 22P05 a character jsonb
 * cannot hold) or 54001 (statement_too_complex: jsonb's parser ran out of stack on deep nesting).
 * The API refuses what it can foresee before grouping; this covers what a route's own limits let
 * through.
 */
export function refusedForContent(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code === '54001');
}

/**
 * Runs one grouped statement for `batch`; if it fails for a reason that may belong to one row
 * (anything not transient), runs each half again, down to single rows, so only the rows Postgres
 * refuses on their own fail, each with RequestNotRecorded in its place. A transient failure is
 * thrown for the whole batch: it is nobody's fault and every caller may retry. Halving keeps the
 * cost of one bad row at about 2·log2(n) statements instead of n.
 */
export async function runSplitting<T, R>(
  batch: readonly T[],
  run: (part: readonly T[]) => Promise<R[]>,
): Promise<(R | RequestNotRecorded)[]> {
  try {
    return await run(batch);
  } catch (err) {
    if (isTransientError(err)) throw err;
    if (batch.length === 1) return [new RequestNotRecorded(err)];
    const half = Math.ceil(batch.length / 2);
    // one after the other: the pool is shared with the rest of the process
    const head = await runSplitting(batch.slice(0, half), run);
    return [...head, ...(await runSplitting(batch.slice(half), run))];
  }
}
