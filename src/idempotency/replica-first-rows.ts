import type { RequestRow } from '../db/database.ts';
import { withTimeout } from '../with-timeout.ts';
import type { ReadRows } from './request-reader.ts';
import { isTerminal } from './request-view.ts';

/**
 * Why a status read was answered where it was: on the replica, its row was `terminal`, or `current`
 * (unfinished, at least the version its readers settle for); on the primary, the replica's row was
 * `missing`, `unfinished` (its readers named no version), `behind` the version they named, or
 * `expiring`, or the replica `failed` this read, or was left `down` since a recent failure.
 */
export type ReadReason = 'terminal' | 'current' | 'missing' | 'unfinished' | 'behind' | 'expiring' | 'failed' | 'down';

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
 * Whether a replica's row may be served (`terminal`, `current`) or not. A terminal state is final,
 * so a terminal row is as new as any state a client can have seen of the request, wherever it read
 * it: serving it can never show the request going back in time. An unfinished row may be older than
 * what the client last saw (the replica lags; `queued` after `processing`), unless its readers said
 * what they settle for (`atLeastVersion`: a follower woken for that version, which has sent nothing
 * newer). A missing row is just accepted (a 404 after its 202). Expiry deletes a terminal row on the
 * primary at `expires_at`, and a lagging replica would still show it; near then, the primary answers.
 */
export function replicaVerdict(row: RequestRow | undefined, nowMs: number, expiryMarginMs: number, atLeastVersion?: number): ReadReason {
  if (!row) return 'missing';
  // an operator's re-drive makes a terminal state not final: a follower woken for it wants the newer one
  if (atLeastVersion !== undefined && row.version < atLeastVersion) return 'behind';
  if (!isTerminal(row.status)) return atLeastVersion === undefined ? 'unfinished' : 'current';
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
  return async (ids, atLeast) => {
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
    const counts = new Map<ReadReason, number>();
    const again: string[] = [];
    const now = Date.now();
    for (const id of ids) {
      const row = byId.get(id);
      const verdict = replicaVerdict(row, now, opts.expiryMarginMs, atLeast?.get(id));
      counts.set(verdict, (counts.get(verdict) ?? 0) + 1);
      if (row && (verdict === 'terminal' || verdict === 'current')) served.push(row);
      else again.push(id);
    }
    for (const [reason, n] of counts) opts.onRead(reason === 'terminal' || reason === 'current' ? 'replica' : 'primary', reason, n);
    return again.length === 0 ? served : [...served, ...(await opts.primary(again))];
  };
}
