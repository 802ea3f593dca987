import { performance } from 'node:perf_hooks';
import type { RequestRow } from '../db/database.ts';
import type { ReplayCache } from './replay-cache.ts';
import type { NewRequest } from './request.repository.ts';
import type { RequestStore } from './request-store.ts';
import { isTerminal } from './request-view.ts';

export type AcceptOutcome =
  /** this call recorded the key: it, and only it, must enqueue the job */
  | { kind: 'created'; request: RequestRow }
  /** the key names an earlier request with the same fingerprint */
  | { kind: 'replayed'; request: RequestRow }
  /** the key names an earlier request with another fingerprint; it is left untouched */
  | { kind: 'mismatch'; request: RequestRow };

/** Records a request under its key or finds the earlier one (createAccept). */
export type Accept = (input: NewRequest) => Promise<AcceptOutcome>;

export interface AcceptOptions {
  /** Called once per answered call (not for one that throws) with its outcome and how long it took. */
  onAccepted?(kind: AcceptOutcome['kind'], seconds: number): void;
}

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

/**
 * Accept as the API runs it: acceptRequest, made cheap for retries without changing its answers.
 * - Single flight: identical calls (tenant, key, fingerprint) that overlap in this process share one
 *   trip to Postgres; the first caller gets the outcome, the others see it as a replay.
 * - Terminal cache: replays of finished keys are answered from `cache` without touching Postgres.
 *   Only a replay (same fingerprint) of a terminal record fills it, never a mismatch; what it
 *   answers carries no payload and no history. The cache stays true to Postgres by the status
 *   feed (replay-cache.ts): a re-drive or a delete of a record removes it on every instance.
 * Throws what acceptRequest throws; `onAccepted` then hears nothing.
 */
export function createAccept(store: RequestStore, cache: ReplayCache, { onAccepted }: AcceptOptions = {}): Accept {
  const inFlight = new Map<string, Promise<AcceptOutcome>>();

  const accept: Accept = async (input) => {
    const cached = cache.get(input.tenantId, input.key);
    if (cached) return { kind: cached.fingerprint === input.fingerprint ? 'replayed' : 'mismatch', request: cached };
    const flightKey = `${input.tenantId}\u0000${input.key}\u0000${input.fingerprint}`;
    const shared = inFlight.get(flightKey);
    if (shared) {
      const outcome = await shared;
      return outcome.kind === 'created' ? { kind: 'replayed', request: outcome.request } : outcome;
    }
    const ticket = cache.begin();
    const flight = acceptRequest(store, input);
    inFlight.set(flightKey, flight);
    try {
      const outcome = await flight;
      if (outcome.kind === 'replayed' && isTerminal(outcome.request.status)) cache.fill(ticket, outcome.request);
      return outcome;
    } finally {
      inFlight.delete(flightKey);
    }
  };

  if (!onAccepted) return accept;
  return async (input) => {
    const started = performance.now();
    const outcome = await accept(input);
    onAccepted(outcome.kind, (performance.now() - started) / 1000);
    return outcome;
  };
}
