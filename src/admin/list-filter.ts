import Type from 'typebox';
import { problem, ProblemError } from '../http/problem.ts';
import type { RequestListFilter } from '../idempotency/request-list.repository.ts';

/** An instant with its zone (Z or ±hh:mm), to the microsecond at most. */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Postgres text cannot hold NUL: a value holding one is refused by the schema, not by Postgres (a 500). */
export const NO_NUL = '^[^\\x00]*$';
const Name = Type.String({ minLength: 1, maxLength: 255, pattern: NO_NUL });
const Instant = Type.String({ minLength: 1, maxLength: 40 });

/** The filters of the console's list and of its bulk re-drive, as query or body fields. */
export const ListFilterFields = {
  operation: Type.Optional(Name),
  tenant: Type.Optional(Name),
  /** created at or after (ISO 8601 with a zone) */
  from: Type.Optional(Instant),
  /** created before (ISO 8601 with a zone) */
  to: Type.Optional(Instant),
};

export const StatusField = Type.Union([
  Type.Literal('queued'),
  Type.Literal('processing'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
]);
export const ErrorCodeField = Type.String({ minLength: 1, maxLength: 100, pattern: NO_NUL });

const invalid = (detail: string) => new ProblemError(problem('invalid-request', detail));

function checkInstant(name: string, value: string | undefined): void {
  if (value === undefined) return;
  const parts = INSTANT.exec(value);
  const [year, month, day] = (parts ?? []).slice(1).map(Number);
  // Date.parse rolls 2026-02-31 over to March; Postgres refuses it: check the day against its month
  const valid =
    parts && !Number.isNaN(Date.parse(value)) && new Date(Date.UTC(year!, month! - 1, day!)).getUTCDate() === day && month! <= 12;
  if (!valid) throw invalid(`${name} ${JSON.stringify(value)} is not an instant: give ISO 8601 with a zone, e.g. 2026-12-08T09:30:00Z.`);
}

/** Checks the time window of a filter: two instants, `from` before `to`; a 400 otherwise. */
export function checkWindow(filter: RequestListFilter): RequestListFilter {
  checkInstant('from', filter.from);
  checkInstant('to', filter.to);
  if (filter.from !== undefined && filter.to !== undefined && Date.parse(filter.from) >= Date.parse(filter.to)) {
    throw invalid(`from (${filter.from}) must come before to (${filter.to}).`);
  }
  return filter;
}
