import { type RawBuilder, sql } from 'kysely';

/**
 * `any($1::uuid[])`, for `.where('id', '=', anyUuid(ids))`: one array parameter instead of one per
 * id, so a batch's statement has the same text, and costs the same to send and plan, at any size.
 */
export function anyUuid(ids: readonly string[]): RawBuilder<string> {
  return sql<string>`any(${sql.val(ids)}::uuid[])`;
}
