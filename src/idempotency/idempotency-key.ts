import { parseItem } from 'structured-headers';

export const MAX_KEY_LENGTH = 255;

export type KeyParseResult = { ok: true; key: string } | { ok: false; reason: 'missing' | 'invalid'; detail: string };

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * Parses an Idempotency-Key header value. Accepts the structured-field string form
 * of the IETF draft (`"abc"`) and the bare form (`abc`) as the same key.
 * A bare value with a comma is refused: it is what two header lines look like once joined.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): KeyParseResult {
  if (header === undefined) return { ok: false, reason: 'missing', detail: 'This request needs an Idempotency-Key header.' };
  if (Array.isArray(header)) return invalid('Send exactly one Idempotency-Key header.');
  const value = header.trim();
  let key: string;
  if (value.startsWith('"')) {
    let item;
    try {
      item = parseItem(value);
    } catch {
      return invalid('The quoted Idempotency-Key is not a valid structured-field string.');
    }
    if (typeof item[0] !== 'string' || item[1].size > 0) {
      return invalid('The quoted Idempotency-Key must be a plain string without parameters.');
    }
    key = item[0];
  } else {
    if (value.includes(',')) return invalid('A bare Idempotency-Key may not contain a comma; quote it or send one header.');
    key = value;
  }
  if (key.length === 0) return invalid('The Idempotency-Key is empty.');
  if (key.length > MAX_KEY_LENGTH) return invalid(`The Idempotency-Key is longer than ${MAX_KEY_LENGTH} characters.`);
  if (!PRINTABLE_ASCII.test(key)) return invalid('The Idempotency-Key must be printable ASCII.');
  return { ok: true, key };
}

function invalid(detail: string): KeyParseResult {
  return { ok: false, reason: 'invalid', detail };
}
