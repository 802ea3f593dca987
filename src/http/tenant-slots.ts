import { problem, ProblemError } from './problem.ts';

const HELD_RETRY_AFTER_S = 1;

/**
 * Counts what each tenant holds open in this process (sockets, streams, held long-polls) against
 * a cap. Per instance: N API instances allow a tenant N times the cap.
 */
export function createTenantSlots(max: number) {
  const held = new Map<string, number>();
  return {
    max,
    /** Takes a slot: a release function (a second call does nothing), or undefined when the tenant holds `max`. */
    acquire(tenant: string): (() => void) | undefined {
      const count = held.get(tenant) ?? 0;
      if (count >= max) return undefined;
      held.set(tenant, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (held.get(tenant) ?? 1) - 1;
        if (left === 0) held.delete(tenant);
        else held.set(tenant, left);
      };
    },
    held: (tenant: string) => held.get(tenant) ?? 0,
  };
}

export type TenantSlots = ReturnType<typeof createTenantSlots>;

const capReached = (detail: string) =>
  new ProblemError(problem('rate-limited', detail, { headers: { 'retry-after': String(HELD_RETRY_AFTER_S) } }));

/** The 429 for a stream or long-poll beyond the tenant's cap: retry once one of the others ends. */
export const tooManyHeld = (max: number) =>
  capReached(`This API key holds ${max} event streams and long-polls open on this server already; retry once one ends.`);

/** The 429 for a WebSocket upgrade beyond the tenant's cap. */
export const tooManySockets = (max: number) =>
  capReached(`This API key holds ${max} WebSockets open on this server already; share one, or close another.`);
