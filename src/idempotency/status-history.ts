import { type RawBuilder, sql } from 'kysely';

/** Status changes a request row keeps; the oldest go first. A request makes 3 in the common case. */
export const HISTORY_LIMIT = 20;

/**
 * The new value of `r.history` (the alias `r` must name the updated row) with one entry appended:
 * `{ status, at }`, plus `extra`'s fields; the oldest entries are dropped past HISTORY_LIMIT.
 * `at` is the statement's clock (see STATEMENT_CLOCK), the same value the statement stamps
 * into `updated_at`.
 */
export function appendHistory(
  status: RawBuilder<unknown>,
  at: RawBuilder<unknown>,
  extra: Record<string, unknown> = {},
): RawBuilder<unknown> {
  return sql`(case when jsonb_array_length(r.history) >= ${HISTORY_LIMIT}
                   then r.history - 0 else r.history end)
             || jsonb_build_array(jsonb_build_object('status', ${status}, 'at', ${at}) || ${JSON.stringify(extra)}::jsonb)`;
}
