import type { Kysely } from 'kysely';
import type { Database, StatusEvent } from '../../src/db/database.ts';

/** The unpublished events of one request, oldest first, whether its rows hold one event or a batch's. */
export async function outboxEventsOf(db: Kysely<Database>, requestId: string): Promise<StatusEvent[]> {
  const rows = await db.selectFrom('idemq.outbox').select('payload').orderBy('id').execute();
  return rows.flatMap((r) => r.payload).filter((e) => e.requestId === requestId);
}
