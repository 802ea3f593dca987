import type { ListPosition } from '../idempotency/request-list.repository.ts';
import { problem, ProblemError } from '../http/problem.ts';
import { isUuid } from '../uuid.ts';

const MICROS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The opaque `cursor` of a list page: base64url of the last row's position. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url');
}

/** The position a `cursor` names; a 400 `invalid-request` for anything encodeCursor did not make. */
export function decodeCursor(cursor: string): ListPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length === 2) {
    const [createdAt, id] = parsed as unknown[];
    if (
      typeof createdAt === 'string' &&
      MICROS_UTC.test(createdAt) &&
      !Number.isNaN(Date.parse(createdAt)) &&
      typeof id === 'string' &&
      isUuid(id)
    )
      return { createdAt, id };
  }
  throw new ProblemError(
    problem(
      'invalid-request',
      'The cursor is not one this list gave: pass `nextCursor` of the previous page as it is, or none for the first page.',
    ),
  );
}
