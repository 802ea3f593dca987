import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Database, RequestRow } from '../db/database.ts';
import { createBatchScheduler } from '../batch-scheduler.ts';
import {
  deleteExpiredRequest,
  findRequestByKey,
  findRequestsByKeys,
  insertRequestsIfAbsent,
  type KeyedRow,
  type NewRequest,
  type TenantKey,
} from './request.repository.ts';
import { RequestNotRecorded, runSplitting } from './split-batch.ts';

/**
 * The statements acceptRequest needs; two implementations with the same contract. A statement
 * Postgres refuses for one request's own data rejects that call alone with RequestNotRecorded.
 */
export interface RequestStore {
  /** The new row, or undefined if the tenant already has a row (possibly expired) under the key. */
  insertIfAbsent(r: NewRequest): Promise<RequestRow | undefined>;
  findByKey(tenantId: string, key: string): Promise<KeyedRow | undefined>;
  deleteExpired(id: string): Promise<void>;
}

// a map key only: a lookup never splits it again, so a NUL inside a key cannot make it name another key
const keyOf = (tenantId: string, key: string) => JSON.stringify([tenantId, key]);

/** One statement per call. */
export function createDirectStore(db: Kysely<Database>): RequestStore {
  return {
    insertIfAbsent: (r) => runSplitting([r], (part) => insertRequestsIfAbsent(db, part)).then(([row]) => unwrap(row)),
    findByKey: (tenantId, key) =>
      runSplitting([{ tenantId, key }], async () => [await findRequestByKey(db, tenantId, key)]).then(([row]) => unwrap(row)),
    deleteExpired: (id) => deleteExpiredRequest(db, id),
  };
}

/**
 * Group commit: calls that arrive while earlier batches are in flight are gathered into one
 * multi-row statement, so a thousand concurrent first requests cost a handful of round trips and
 * commits instead of a thousand. Every row is still committed before its caller hears of it, so an
 * acknowledged request is exactly as durable as with the direct store. At low load a batch holds
 * one call and goes out at once: no fixed delay is added.
 */
export function createBatchingStore(db: Kysely<Database>, opts: { maxBatchSize: number; maxConcurrentBatches: number }): RequestStore {
  const schedule = createBatchScheduler(opts.maxConcurrentBatches);
  const inserts = new DataLoader<NewRequest, RequestRow | undefined>(
    (batch) => schedule.run(() => runSplitting(batch, async (part) => matchInserted(part, await insertRequestsIfAbsent(db, part)))),
    { cache: false, maxBatchSize: opts.maxBatchSize, batchScheduleFn: schedule.wait },
  );
  const finds = new DataLoader<TenantKey, KeyedRow | undefined>(
    (keys) => schedule.run(() => runSplitting(keys, async (part) => inKeyOrder(part, await findRequestsByKeys(db, part)))),
    { cache: false, maxBatchSize: opts.maxBatchSize, batchScheduleFn: schedule.wait },
  );
  return {
    insertIfAbsent: (r) => inserts.load(r),
    findByKey: (tenantId, key) => finds.load({ tenantId, key }),
    deleteExpired: (id) => deleteExpiredRequest(db, id),
  };
}

/** Each returned row goes to the first call of its key; a later call with the same key was not inserted. */
function matchInserted(batch: readonly NewRequest[], rows: RequestRow[]): (RequestRow | undefined)[] {
  const byKey = new Map(rows.map((r) => [keyOf(r.tenant_id, r.idempotency_key), r]));
  return batch.map((r) => {
    const k = keyOf(r.tenantId, r.key);
    const row = byKey.get(k);
    byKey.delete(k);
    return row;
  });
}

/** Each key's row, in key order. */
function inKeyOrder(keys: readonly TenantKey[], rows: KeyedRow[]): (KeyedRow | undefined)[] {
  const byKey = new Map(rows.map((r) => [keyOf(r.tenant_id, r.idempotency_key), r]));
  return keys.map((k) => byKey.get(keyOf(k.tenantId, k.key)));
}

function unwrap<R>(result: R | RequestNotRecorded): R {
  if (result instanceof RequestNotRecorded) throw result;
  return result;
}
