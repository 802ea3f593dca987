export const TENANT_PATTERN = /^[A-Za-z0-9_.-]+$/;
const MIN_SECRET_LENGTH = 8;

/**
 * Parses `API_KEYS` (comma-separated `tenant:secret` pairs) into tenant by secret. Each malformed
 * entry gives one problem that says what is expected and which entry is wrong, by position and
 * length only: a secret is never echoed, not even in a start-up error. Every entry is checked,
 * so one start lists them all.
 */
export function parseApiKeys(value: string): { apiKeys: Map<string, string>; problems: string[] } {
  const entries = value.split(',');
  const apiKeys = new Map<string, string>();
  const problems: string[] = [];
  const rule = `each entry must be tenant:secret with a secret of at least ${MIN_SECRET_LENGTH} characters`;
  const got = `got ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`;
  for (const [i, entry] of entries.entries()) {
    const fault = entryFault(entry);
    if (fault) {
      problems.push(`API_KEYS: ${rule}; ${got}, the ${ordinal(i + 1)} ${fault}`);
      continue;
    }
    const [tenant, secret] = entry.split(':') as [string, string];
    if (apiKeys.has(secret)) problems.push(`API_KEYS: a secret is listed twice (tenant ${tenant})`);
    apiKeys.set(secret, tenant);
  }
  return { apiKeys, problems };
}

function entryFault(entry: string): string | undefined {
  if (entry.trim() === '') return 'is empty';
  const parts = entry.split(':');
  if (parts.length === 1) return 'has no ":"';
  if (parts.length > 2) return 'has more than one ":"';
  const [tenant, secret] = parts as [string, string];
  if (!TENANT_PATTERN.test(tenant))
    return tenant === '' ? 'has no tenant' : 'has a tenant with characters other than letters, digits, "_", "." and "-"';
  if (/\s/.test(secret)) return 'has white space in its secret';
  if (secret.length < MIN_SECRET_LENGTH) return `has a ${secret.length}-character secret`;
  return undefined;
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th');
  return `${n}${suffix}`;
}
