import { type AcceptOutcome, acceptRequest } from './accept-request.ts';
import type { ReplayCache } from './replay-cache.ts';
import type { NewRequest } from './request.repository.ts';
import type { RequestStore } from './request-store.ts';
import { isTerminal } from './request-view.ts';

export type Accept = (input: NewRequest) => Promise<AcceptOutcome>;

/**
 * acceptRequest, made cheap for retries without changing its answers:
 * - single flight: identical calls (tenant, key, fingerprint) that overlap in this process share one
 *   trip to Postgres; the first caller gets the outcome, the others see it as a replay;
 * - terminal cache: replays of finished keys are answered from `cache` without touching Postgres.
 *   Only a replay (same fingerprint) of a terminal record fills it, never a mismatch; what it
 *   answers carries no payload and no history. The cache stays true to Postgres by the status
 *   feed (replay-cache.ts): a re-drive or a delete of a record removes it on every instance.
 */
export function createAcceptor(store: RequestStore, cache: ReplayCache): Accept {
  const inFlight = new Map<string, Promise<AcceptOutcome>>();

  return async (input) => {
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
}
