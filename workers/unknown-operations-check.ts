import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../src/db/database.ts';
import { countUnfinishedByOperation } from '../src/idempotency/request-maintenance.repository.ts';

/**
 * Warns, once at a worker's start, about unfinished requests of operations this worker does not
 * run (`known`): an operation not deployed yet, or one removed (a forward route taken out of the
 * routes file) while its requests waited; those wait for ever unless a worker that runs it comes,
 * or an operator fails them (admin console, `POST /api/requests/{id}/fail`). Resolves with what it
 * found; a failed query is logged, not thrown: the worker runs either way.
 */
export async function warnOfUnknownOperations(
  db: Kysely<Database>,
  known: (name: string) => boolean,
  log: Logger,
): Promise<{ operation: string; unfinished: number }[]> {
  try {
    const unknown = (await countUnfinishedByOperation(db)).filter((r) => !known(r.operation));
    for (const r of unknown) {
      log.warn(
        r,
        `${r.unfinished} unfinished request(s) of operation ${r.operation}, which this worker does not run: they wait for a worker that does; if it was removed, fail them in the admin console`,
      );
    }
    return unknown;
  } catch (err) {
    log.warn({ err }, 'could not look for requests of unknown operations');
    return [];
  }
}
