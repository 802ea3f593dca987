/**
 * Reads a Postgres int8 (bigint) as a JS number only when that is exact: amounts, balances and
 * counts are kept within 2^53 - 1 (Number.MAX_SAFE_INTEGER). Anything beyond throws, naming the
 * value, so a lost digit can never reach an answer, a stored result or an event unnoticed.
 */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(
      `Postgres returned the int8 ${text}, beyond the exact range of a JS number (±${Number.MAX_SAFE_INTEGER}); cast it to text or numeric in the query, or keep the value within the range`,
    );
  }
  return n;
}
