import type pg from 'pg';
import type { FaultRecord } from './faults.ts';

export interface Recovery {
  fault: FaultRecord;
  /** ms from the fault's start until every request accepted before its end was terminal */
  completeAfterMs?: number;
}

/**
 * Measures, per fault, the time from its start until every request recorded before the service
 * was back has reached a terminal state: polls the oldest unfinished request in Postgres (four
 * times a second; failures while Postgres is down just mean "not yet").
 */
export function startRecoveryTracker(pool: pg.Pool) {
  const recoveries: Recovery[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, 250));
      const open = recoveries.filter((r) => r.completeAfterMs === undefined);
      if (open.length === 0) continue;
      const oldest = await pool
        .query<{ oldest: Date | null }>(`select min(created_at) as oldest from idemq.requests where status in ('queued', 'processing')`)
        .then(
          (r) => r.rows[0]!.oldest?.getTime() ?? Infinity,
          () => undefined,
        );
      if (oldest === undefined) continue;
      const now = Date.now();
      for (const r of open) if (oldest > r.fault.endedAt) r.completeAfterMs = now - r.fault.startedAt;
    }
  })();
  return {
    track(fault: FaultRecord): void {
      recoveries.push({ fault });
    },
    recoveries,
    async stop(): Promise<void> {
      stopped = true;
      await loop;
    },
  };
}
