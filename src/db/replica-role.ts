import { type Kysely, sql } from 'kysely';
import type { Database } from './database.ts';

/**
 * What the server of DATABASE_READ_URL is to the primary: `standby` (in recovery, same
 * `system_identifier`: a streaming replica, as it should be); `is the primary` (not in recovery,
 * same identifier: the primary itself, or a promoted copy; reads are right but take no load off
 * it); `not a replica of the primary` (another database cluster altogether: its reads are wrong).
 */
export type ReplicaRole = 'standby' | 'is the primary' | 'not a replica of the primary';

const identity = sql<{
  standby: boolean;
  system: string;
}>`select pg_is_in_recovery() as standby, (select system_identifier::text from pg_control_system()) as system`;

/** One short statement on each server; rejects when either does not answer. */
export async function replicaRole(primary: Kysely<Database>, replica: Kysely<Database>): Promise<ReplicaRole> {
  const [{ rows: p }, { rows: r }] = await Promise.all([identity.execute(primary), identity.execute(replica)]);
  if (p[0]?.system !== r[0]?.system) return 'not a replica of the primary';
  return r[0]?.standby ? 'standby' : 'is the primary';
}
