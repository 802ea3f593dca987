import type { RequestRow, StatusEvent } from '../db/database.ts';
import type { ReadRequest } from '../idempotency/request-reader.ts';
import { isTerminal } from '../idempotency/request-view.ts';
import type { StatusFeed } from './status-feed.ts';
import { createWakeup } from './wakeup.ts';

/** A safety net only: if a wake-up is ever lost (Redis away), followers still look this often. */
export const REREAD_INTERVAL_MS = 30_000;

export interface FollowDeps {
  readRequest: ReadRequest;
  feed: StatusFeed;
  /**
   * called right after `onChange` got a terminal state that a status event woke the follower for,
   * with that event (for the stage timings); not for a state found already terminal
   */
  onPushed?(event: StatusEvent): void;
}

/**
 * Follows a tenant's request: calls `onChange` with each state whose version is above
 * `sinceVersion` (the current one first), until the request is terminal or `signal` aborts; then
 * returns the last state read (undefined: no such request for this tenant). Woken by the status
 * feed, and reading Postgres once per wake-up: the watch is registered before the first read, so a
 * change in between is never missed, and a duplicate wake-up sends nothing twice.
 */
export async function followRequest(
  deps: FollowDeps,
  tenantId: string,
  id: string,
  onChange: (row: RequestRow) => void,
  opts: { signal?: AbortSignal; sinceVersion?: number } = {},
): Promise<RequestRow | undefined> {
  const wakeup = createWakeup();
  let woken: StatusEvent | undefined;
  const unwatch = deps.feed.watch(id, (event) => {
    woken = event ?? woken;
    wakeup.wake(event && Number.isSafeInteger(event.version) ? event.version : undefined);
  });
  let seen = opts.sinceVersion ?? 0;
  // the version the last wake-up announced; none before the first read
  let announced: number | undefined;
  try {
    for (;;) {
      // after a wake-up that named its version, any copy at least that new (and as new as the last sent) will do
      const row = await deps.readRequest(tenantId, id, announced === undefined ? undefined : { atLeastVersion: Math.max(announced, seen) });
      if (!row) return undefined;
      if (row.version > seen) {
        seen = row.version;
        onChange(row);
        if (woken?.version === row.version && isTerminal(row.status)) deps.onPushed?.(woken);
      }
      if (isTerminal(row.status) || opts.signal?.aborted) return row;
      announced = await wakeup.wait(REREAD_INTERVAL_MS, opts.signal);
    }
  } finally {
    unwatch();
  }
}
