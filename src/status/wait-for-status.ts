import type { RequestRow } from '../db/database.ts';
import { type FollowDeps, followRequest } from './follow-request.ts';

/**
 * Holds until the tenant's request is terminal, `timeoutMs` passes or `signal` aborts (the client
 * left), then returns the state read from Postgres at that moment (undefined: no such request).
 */
export function waitForTerminal(
  deps: FollowDeps,
  tenantId: string,
  id: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RequestRow | undefined> {
  const timeout = AbortSignal.timeout(timeoutMs);
  return followRequest(deps, tenantId, id, () => {}, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
}
