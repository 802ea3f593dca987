/**
 * A Retry-After header (RFC 9110 §10.2.3) as milliseconds from `now`: delay-seconds or an
 * HTTP-date. Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text), Number.MAX_SAFE_INTEGER / 1000) * 1000;
  // an HTTP-date always names the weekday and GMT; Date.parse alone would accept "1" or "2026"
  if (!/^[A-Za-z]{3},? .*GMT$/.test(text) && !/^[A-Za-z]+, \d\d-[A-Za-z]{3}-\d\d .*GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
