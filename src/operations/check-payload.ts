import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { RequestError } from '../db/database.ts';

/** The code a request ends with when its stored payload no longer fits its operation's input schema. */
export const INVALID_PAYLOAD = 'invalid_payload';

/** How many schema errors the stored error lists; the first few say what to fix. */
const ERRORS_SHOWN = 5;

/**
 * Checks a stored payload against the operation's input schema before a worker runs it: the API
 * checked the body when it was recorded, but the schema may have changed since (a deploy between
 * the two) or the row been written by other means. On success the payload is typed as the schema
 * says; otherwise the terminal error to store (`invalid_payload`), naming where it fails.
 */
export function checkPayload<S extends TSchema>(
  schema: S,
  payload: unknown,
): { ok: true; input: Static<S> } | { ok: false; error: RequestError } {
  if (Value.Check(schema, payload)) return { ok: true, input: payload };
  const errors = Value.Errors(schema, payload).slice(0, ERRORS_SHOWN);
  const where = errors.map((e) => `${e.instancePath || '/'}: ${e.message}`).join('; ');
  return {
    ok: false,
    error: {
      code: INVALID_PAYLOAD,
      message: `The stored request no longer fits the operation's input schema (${where}); it will not be run.`,
    },
  };
}
