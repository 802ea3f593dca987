/**
 * One table of Retry-After values and what they mean, at NOW: the server's rule
 * (src/retry-policy.ts) and the client package's (clients/typescript/src/retry-policy.ts) are
 * both tested against it, so the two read every value alike.
 */
export const NOW = Date.parse('2026-11-30T12:00:00Z');

export const RETRY_AFTER_CASES: readonly (readonly [value: string | null | undefined, ms: number | undefined])[] = [
  // delay-seconds
  ['120', 120_000],
  ['2', 2_000],
  [' 3 ', 3_000],
  ['0', 0],
  [' 0 ', 0],
  ['86400', 86_400_000],
  // huge: kept finite; the caller caps its wait
  ['9'.repeat(400), (Number.MAX_SAFE_INTEGER / 1000) * 1000],
  // HTTP-date: IMF-fixdate and the obsolete RFC 850 form, both in GMT; a past date means at once
  ['Mon, 30 Nov 2026 12:00:10 GMT', 10_000],
  ['Mon, 30 Nov 2026 12:00:05 GMT', 5_000],
  ['Monday, 30-Nov-26 12:00:10 GMT', 10_000],
  ['Mon, 30 Nov 2026 11:00:00 GMT', 0],
  // absent, negative, fractional or unreadable: ignored
  [undefined, undefined],
  [null, undefined],
  ['', undefined],
  ['-1', undefined],
  ['1.5', undefined],
  ['1e3', undefined],
  ['soon', undefined],
  ['2026-11-30', undefined],
  ['Mon 30 Nov 2026', undefined],
  ['Mon, 30 Nov 2026 12:00:10', undefined],
  ['Mon Nov 30 12:00:10 2026', undefined],
];
