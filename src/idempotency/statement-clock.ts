import { sql } from 'kysely';

/**
 * A CTE body (`with clock as (${STATEMENT_CLOCK})`, read as `clock.t`) giving one statement one
 * instant: the time the statement runs, not the time its transaction began. `now()` is the
 * transaction's start, so a transaction that waited on a row lock would stamp its completion in
 * the past and start a retention that may already be over at commit. `clock_timestamp()` is read
 * once here (a CTE with a volatile function is evaluated once, never inlined) so every column
 * and history entry the statement writes agrees.
 */
export const STATEMENT_CLOCK = sql`select clock_timestamp() as t`;
