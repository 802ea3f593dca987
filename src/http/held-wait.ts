import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestRow } from '../db/database.ts';
import type { FollowDeps } from '../status/follow-request.ts';
import { waitForTerminal } from '../status/wait-for-status.ts';
import type { AppDeps } from './api-deps.ts';
import { keyRevoked } from './auth.ts';
import type { KeyHolds } from './key-holds.ts';
import { clientGone } from './request-reply.ts';
import { holdSocketFor } from './server-limits.ts';
import type { TenantSlots } from './tenant-slots.ts';

/** What a held wait counts against: the tenant's held slots and the API key's holds. */
export type HeldWaitDeps = FollowDeps & Pick<AppDeps, 'config'> & { held: TenantSlots; holds: KeyHolds };

/**
 * Holds `request` until the tenant's request `id` is terminal, `waitMs` pass or the client leaves
 * (a long-poll, `Prefer: wait`), in one of the tenant's held slots and under its API key's hold,
 * with the socket's deadlines stretched to the wait. Resolves with the state read last (undefined:
 * no such request), or `'declined'` without waiting when the tenant holds its maximum already.
 * Throws the 401 of a revoked key if the key was revoked meanwhile: the request is not given to it.
 */
export async function heldWait(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: HeldWaitDeps,
  id: string,
  waitMs: number,
): Promise<RequestRow | undefined | 'declined'> {
  const release = deps.held.acquire(request.tenantId);
  if (!release) return 'declined';
  holdSocketFor(request, waitMs, deps.config.http);
  const hold = deps.holds.hold(request.keyHash);
  let row: RequestRow | undefined;
  try {
    row = await waitForTerminal(deps, request.tenantId, id, waitMs, AbortSignal.any([clientGone(reply), hold.signal]));
  } finally {
    release();
    hold.release();
  }
  if (hold.signal.aborted) throw keyRevoked();
  return row;
}
