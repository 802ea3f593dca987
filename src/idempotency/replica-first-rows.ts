import type { RequestRow } from '../db/database.ts';
import { withTimeout } from '../with-timeout.ts';
import type { ReadRows } from './request-reader.ts';
import { isTerminal } from './request-view.ts';

/**
 * Why a status read was answered where it was: `terminal` on the replica; on the primary, the
 * replica's row was `missing`, `unfinished` or `expiring`, or the replica `failed` this read, or
 * was left `down` since a recent failure.
 */
export type ReadReason = 'terminal' | 'missing' | 'unfinished' | 'expiring' | 'failed' | 'down';

export interface ReplicaFirstOptions {
  replica: ReadRows;
  primary: ReadRows;
  /** a replica read that has not answered by then is given up for the primary */
  timeoutMs: number;
  /** after a failed replica read, reads go straight to the primary for this long */
  downForMs: number;
  /** a terminal row whose retention ends within this is read on the primary, where expiry may have deleted it */
  expiryMarginMs: number;
  /** `count` reads (ids) answered by `source` for `reason` */
  onRead(source: 'replica' | 'primary', reason: ReadReason, count: number): void;
  onReplicaError(err: unknown): void;
}

/**
 * Where a replica's row may be served. A terminal state is final, so a terminal row is as new as
 * any state a client can have seen of the request, wherever it read it: serving it can never show
 * the request going back in time. Anything else may be older than what the client last saw (the
 * replica lags): a missing row (just accepted: a 404 after its 202) or an unfinished one
 * (`queued` after `processing`). Expiry deletes a terminal row on the primary at `expires_at`,
 * and a lagging replica would still show it; near then, the primary answers.
 */
export function replicaVerdict(row: RequestRow | undefined, nowMs: number, expiryMarginMs: number): ReadReason {
  if (!row) return 'missing';
  if (!isTerminal(row.status)) return 'unfinished';
  if (row.expires_at && row.expires_at.getTime() - nowMs <= expiryMarginMs) return 'expiring';
  return 'terminal';
}

/**
 * Status reads on a streaming replica, with the primary behind it: each batch is read on the
 * replica; the rows replicaVerdict does not serve from there are read again, as one batch, on the
 * primary. A replica that fails or does not answer within `timeoutMs` sends this batch, and every
 * batch for `downForMs` after, to the primary alone: a replica that is away costs no errors, and
 * one timeout per `downForMs` at most.
 */
export function createReplicaFirstRows(opts: ReplicaFirstOptions): ReadRows {
  let downUntil = 0;
  const onPrimary = (ids: readonly string[], reason: ReadReason) => {
    opts.onRead('primary', reason, ids.length);
    return opts.primary(ids);
  };
  return async (ids) => {
    if (Date.now() < downUntil) return onPrimary(ids, 'down');
    let replicaRows: RequestRow[];
    try {
      replicaRows = await withTimeout(opts.replica(ids), opts.timeoutMs, 'status read on the replica');
    } catch (err) {
      downUntil = Date.now() + opts.downForMs;
      opts.onReplicaError(err);
      return onPrimary(ids, 'failed');
    }
    const byId = new Map(replicaRows.map((r) => [r.id, r]));
    const served: RequestRow[] = [];
    const again = new Map<ReadReason, string[]>();
    const now = Date.now();
    for (const id of ids) {
      const row = byId.get(id);
      const verdict = replicaVerdict(row, now, opts.expiryMarginMs);
      if (row && verdict === 'terminal') served.push(row);
      else again.set(verdict, (again.get(verdict) ?? []).concat(id));
    }
    if (served.length > 0) opts.onRead('replica', 'terminal', served.length);
    if (again.size === 0) return served;
    for (const [reason, list] of again) opts.onRead('primary', reason, list.length);
    return [...served, ...(await opts.primary([...again.values()].flat()))];
  };
}
