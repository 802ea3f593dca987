import type { RequestRow } from '../db/database.ts';
import type { NewRequest } from './request.repository.ts';
import type { RequestStore } from './request-store.ts';

export type AcceptOutcome =
  /** this call recorded the key: it, and only it, must enqueue the job */
  | { kind: 'created'; request: RequestRow }
  /** the key names an earlier request with the same fingerprint */
  | { kind: 'replayed'; request: RequestRow }
  /** the key names an earlier request with another fingerprint; it is left untouched */
  | { kind: 'mismatch'; request: RequestRow };

const MAX_ROUNDS = 5;

/**
 * Records a request under its idempotency key, durably, or finds the one already there.
 * Safe under any number of concurrent calls for one key: exactly one gets `created`.
 * A finished record past its expiry is deleted and the key starts a new request with a new id;
 * an unfinished one keeps its key (replay or mismatch) however old it is, so it never runs twice.
 * Throws only for infrastructure failures (Postgres unreachable and the like).
 */
export async function acceptRequest(store: RequestStore, input: NewRequest): Promise<AcceptOutcome> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const created = await store.insertIfAbsent(input);
    if (created) return { kind: 'created', request: created };
    // A separate read, not one CTE: under concurrency a CTE's snapshot may see neither the insert nor the row.
    const existing = await store.findByKey(input.tenantId, input.key);
    if (!existing) continue; // removed by expiry between the two statements
    if (existing.expired) {
      await store.deleteExpired(existing.id);
      continue;
    }
    const { expired: _, ...request } = existing;
    return { kind: existing.fingerprint === input.fingerprint ? 'replayed' : 'mismatch', request };
  }
  throw new Error(`could not record idempotency key after ${MAX_ROUNDS} rounds of concurrent expiry`);
}
