import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import { createBatchScheduler } from '../batch-scheduler.ts';
import { anyUuid } from '../db/any-uuid.ts';
import type { Database, RequestRow } from '../db/database.ts';
import { isUuid } from '../uuid.ts';

/** A tenant's request by id; another tenant's id or a malformed one is undefined, like an unknown one. */
export type ReadRequest = (tenantId: string, id: string) => Promise<RequestRow | undefined>;

/**
 * Reads requests by id for many readers at once: every status message wakes all the followers of
 * its requests in the same tick (WebSockets, long-polls, SSE streams), and their reads go to Postgres
 * as one `id = any($1)` statement instead of one round trip each. Reads that come while
 * `maxConcurrentBatches` are in flight join the next batch. Always reads Postgres: never cached.
 */
export function createRequestReader(db: Kysely<Database>, opts: { maxConcurrentBatches: number; maxBatchSize?: number }): ReadRequest {
  const schedule = createBatchScheduler(opts.maxConcurrentBatches);
  const loader = new DataLoader<string, RequestRow | undefined>(
    (ids) =>
      schedule.run(async () => {
        const rows = await db.selectFrom('idemq.requests').selectAll().where('id', '=', anyUuid([...new Set(ids)])).execute();
        const byId = new Map(rows.map((r) => [r.id, r]));
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
