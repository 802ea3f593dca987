import { LRUCache } from 'lru-cache';
import type { RequestRow } from '../db/database.ts';
import { type AcceptOutcome, acceptRequest } from './accept-request.ts';
import type { NewRequest } from './request.repository.ts';
import type { RequestStore } from './request-store.ts';
import { isTerminal } from './request-view.ts';

export type Accept = (input: NewRequest) => Promise<AcceptOutcome>;

/**
 * acceptRequest, made cheap for retries without changing its answers:
 * - single flight: identical calls (tenant, key, fingerprint) that overlap in this process share one
 *   trip to Postgres; the first caller gets the outcome, the others see it as a replay;
 * - terminal cache: a terminal record never changes until it expires, so replays of finished keys
 *   are answered from a bounded LRU without touching Postgres, until the record's expiry.
 */
export function createAcceptor(store: RequestStore, opts: { cacheSize: number }): Accept {
  const inFlight = new Map<string, Promise<AcceptOutcome>>();
  const terminal = new LRUCache<string, RequestRow>({ max: opts.cacheSize });

  return async (input) => {
    const key = `${input.tenantId}\u0000${input.key}`;
    const cached = terminal.get(key);
    if (cached?.expires_at && cached.expires_at.getTime() > Date.now()) {
      return { kind: cached.fingerprint === input.fingerprint ? 'replayed' : 'mismatch', request: cached };
    }
    const flightKey = `${key}\u0000${input.fingerprint}`;
    const shared = inFlight.get(flightKey);
    if (shared) {
      const outcome = await shared;
      return outcome.kind === 'created' ? { kind: 'replayed', request: outcome.request } : outcome;
    }
    const flight = acceptRequest(store, input);
    inFlight.set(flightKey, flight);
    try {
      const outcome = await flight;
      if (isTerminal(outcome.request.status)) terminal.set(key, outcome.request);
      return outcome;
    } finally {
      inFlight.delete(flightKey);
    }
  };
}
