export const MAX_WAIT_SECONDS = 60;

/**
 * The `wait` preference of an RFC 7240 `Prefer` header (`Prefer: wait=10`, possibly among others),
 * capped at MAX_WAIT_SECONDS; undefined when absent or malformed (preferences are optional by nature).
 */
export function preferredWaitSeconds(header: string | string[] | undefined): number | undefined {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const value of values) {
    for (const pref of value.split(',')) {
      const [name, raw] = pref
        .split(';')[0]!
        .split('=')
        .map((s) => s.trim());
      if (name?.toLowerCase() !== 'wait' || !raw || !/^\d+$/.test(raw.replaceAll('"', ''))) continue;
      return Math.min(Number(raw.replaceAll('"', '')), MAX_WAIT_SECONDS);
    }
  }
  return undefined;
}
