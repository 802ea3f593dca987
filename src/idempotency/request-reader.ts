import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import { createBatchScheduler } from '../batch-scheduler.ts';
import { anyUuid } from '../db/any-uuid.ts';
import type { Database, RequestRow } from '../db/database.ts';
import { isUuid } from '../uuid.ts';

/** A tenant's request by id; another tenant's id or a malformed one is undefined, like an unknown one. */
export type ReadRequest = (tenantId: string, id: string) => Promise<RequestRow | undefined>;

/** The rows of the requests of `ids` (distinct, lower-case), in any order; an id without one is left out. */
export type ReadRows = (ids: readonly string[]) => Promise<RequestRow[]>;

/** One `id = any($1)` statement on `db`. */
export function selectRequestsByIds(db: Kysely<Database>): ReadRows {
  return (ids) => db.selectFrom('idemq.requests').selectAll().where('id', '=', anyUuid([...ids])).execute();
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
  const loader = new DataLoader<string, RequestRow | undefined>(
    (ids) =>
      schedule.run(async () => {
        const byId = new Map((await rows([...new Set(ids)])).map((r) => [r.id, r]));
        return ids.map((id) => byId.get(id));
      }),
    { cache: false, maxBatchSize: opts.maxBatchSize ?? 1_000, batchScheduleFn: schedule.wait },
  );
  return async (tenantId, id) => {
    if (!isUuid(id)) return undefined;
    const row = await loader.load(id.toLowerCase());
    return row?.tenant_id === tenantId ? row : undefined;
  };
}
