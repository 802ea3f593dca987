import type { Kysely } from 'kysely';
import type { Database, RequestRow } from '../db/database.ts';
import { findRequest } from '../idempotency/request.repository.ts';
import { isTerminal } from '../idempotency/request-view.ts';
import type { StatusFeed } from './status-feed.ts';
import { createWakeup } from './wakeup.ts';

/**
 * Holds until the tenant's request is terminal, `timeoutMs` passes or `signal` aborts, then returns
 * the state read from Postgres at that moment (undefined if there is no such request). Woken by
 * the status feed, not by polling: the database is read once at the start and once per wake-up.
 * The watch is registered before the first read, so a change between the two is not missed.
 */
export async function waitForTerminal(
  deps: { db: Kysely<Database>; feed: StatusFeed },
  tenantId: string,
  id: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RequestRow | undefined> {
  const deadline = Date.now() + timeoutMs;
  const wakeup = createWakeup();
  const unwatch = deps.feed.watch(id, wakeup.wake);
  try {
    for (;;) {
      const row = await findRequest(deps.db, tenantId, id);
      const left = deadline - Date.now();
      if (!row || isTerminal(row.status) || left <= 0 || signal?.aborted) return row;
      await wakeup.wait(left, signal);
    }
  } finally {
    unwatch();
  }
}
