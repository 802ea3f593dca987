import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../src/db/database.ts';

/**
 * Warns once if Postgres runs with autovacuum off. The outbox and the requests table churn by
 * design; without autovacuum they bloat and every statement slows down (seen here: 3x slower per
 * statement within minutes). Never throws and never holds the start up.
 */
export function warnIfAutovacuumOff(db: Kysely<Database>, log: Logger): void {
  void sql<{ autovacuum: string }>`show autovacuum`
    .execute(db)
    .then(({ rows }) => {
      if (rows[0]?.autovacuum !== 'on')
        log.warn('Postgres runs with autovacuum off: the outbox, requests and hot ledger rows will bloat and slow down; turn it on');
    })
    .catch((err) => log.debug({ err }, 'could not read the autovacuum setting'));
}
