import { type Kysely, sql } from 'kysely';
import type { Database } from './database.ts';

export interface ReplicaLag {
  /** since the last transaction the standby replayed, while it has received WAL it has not replayed; 0 when caught up */
  seconds: number;
  /** WAL the primary has written and the standby not yet replayed */
  bytes: number;
  /** replay paused (pg_wal_replay_pause) */
  paused: boolean;
}

/**
 * How far the replica of `replica` is behind `primary`: one statement on each. A server that is not
 * in recovery (no standby) is reported as not behind.
 */
export async function measureReplicaLag(primary: Kysely<Database>, replica: Kysely<Database>): Promise<ReplicaLag> {
  const { rows } = await sql<{ replayed: string | null; seconds: number | null; paused: boolean }>`
    select pg_last_wal_replay_lsn()::text as replayed,
           case when pg_last_wal_receive_lsn() is distinct from pg_last_wal_replay_lsn()
                then extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 else 0 end as seconds,
           case when pg_is_in_recovery() then pg_is_wal_replay_paused() else false end as paused`.execute(replica);
  const standby = rows[0];
  if (!standby?.replayed) return { seconds: 0, bytes: 0, paused: false };
  const { rows: behind } = await sql<{ bytes: string }>`
    select greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), ${standby.replayed}::pg_lsn), 0)::text as bytes`.execute(primary);
  return { seconds: Math.max(standby.seconds ?? 0, 0), bytes: Number(behind[0]?.bytes ?? 0), paused: standby.paused };
}
