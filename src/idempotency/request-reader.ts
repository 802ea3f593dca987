import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import { createBatchScheduler } from '../batch-scheduler.ts';
import type { Database, RequestRow } from '../db/database.ts';
import { isUuid } from '../uuid.ts';
import { findRequestsByIds } from './request.repository.ts';

/**
 * A tenant's request by id; another tenant's id or a malformed one is undefined, like an unknown one.
 * `atLeastVersion`: the caller knows the request has reached that version (a wake-up announced it)
 * and has shown its client nothing newer, so a copy of at least that version is as good as the
 * primary's (see replica-first-rows.ts); without it, only the latest state will do.
 */
export type ReadRequest = (tenantId: string, id: string, opts?: { atLeastVersion?: number }) => Promise<RequestRow | undefined>;

/**
 * The rows of the requests of `ids` (distinct, lower-case), in any order; an id without one is left
 * out. `atLeast` holds the version each id's readers settle for, if all of them named one.
 */
export type ReadRows = (ids: readonly string[], atLeast?: ReadonlyMap<string, number>) => Promise<RequestRow[]>;

/** Reads rows with one `id = any($1)` statement on `db` (findRequestsByIds). */
export function selectRequestsByIds(db: Kysely<Database>): ReadRows {
  return (ids) => findRequestsByIds(db, ids);
}

/** Per id, the highest version its readers named; an id one of whose readers named none is left out. */
function settleFor(loads: readonly { id: string; atLeastVersion?: number }[]): Map<string, number> {
  const atLeast = new Map<string, number>();
  const any = new Set<string>();
  for (const { id, atLeastVersion } of loads) {
    if (atLeastVersion === undefined) any.add(id);
    else atLeast.set(id, Math.max(atLeastVersion, atLeast.get(id) ?? 0));
  }
  for (const id of any) atLeast.delete(id);
  return atLeast;
}

/**
 * Reads requests by id for many readers at once: every status message wakes all the followers of
 * its requests in the same tick (WebSockets, long-polls, SSE streams), and their reads go out as
 * one `rows` call instead of one round trip each. Reads that come while `maxConcurrentBatches` are
 * in flight join the next batch. Never cached: every read reaches Postgres (`db`, or the rows
 * function given instead, such as a replica's with the primary behind it: replica-first-rows.ts).
 */
export function createRequestReader(
  source: Kysely<Database> | ReadRows,
  opts: { maxConcurrentBatches: number; maxBatchSize?: number },
): ReadRequest {
  const rows = typeof source === 'function' ? source : selectRequestsByIds(source);
  const schedule = createBatchScheduler(opts.maxConcurrentBatches);
  const loader = new DataLoader<{ id: string; atLeastVersion?: number }, RequestRow | undefined>(
    (loads) =>
      schedule.run(async () => {
        const byId = new Map((await rows([...new Set(loads.map((l) => l.id))], settleFor(loads))).map((r) => [r.id, r]));
        return loads.map((l) => byId.get(l.id));
      }),
    { cache: false, maxBatchSize: opts.maxBatchSize ?? 1_000, batchScheduleFn: schedule.wait },
  );
  return async (tenantId, id, read) => {
    if (!isUuid(id)) return undefined;
    const row = await loader.load({ id: id.toLowerCase(), atLeastVersion: read?.atLeastVersion });
    return row?.tenant_id === tenantId ? row : undefined;
  };
}
