import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { API_KEY_SCOPES, type ApiKeyScope, type Database } from '../db/database.ts';
import { TENANT_PATTERN } from '../api-keys.ts';
import { type ApiKeyInfo, createApiKey, listApiKeys, revokeApiKey } from './api-key.repository.ts';
import { isPrefix, SECRET_PATTERN } from './key-secret.ts';

export const USAGE = `Usage:
  npm run keys -- create --tenant <tenant> [--scope read|write]...   prints the new secret once
  npm run keys -- list [--tenant <tenant>] [--json]                   prefixes and metadata, never secrets
  npm run keys -- revoke <prefix>                                     refused by every API within seconds
A key without --scope may read and write; --scope read makes a read-only key.`;

/** Exit codes: 0 done, 1 the command failed (no such key, Postgres away), 2 the command line is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export class UsageError extends Error {}
export class CommandError extends Error {}

export interface Output {
  /** what a script reads: the secret, the list */
  out(line: string): void;
  /** what a person reads */
  info(line: string): void;
}

/**
 * Runs one `keys` command. Returns nothing; throws UsageError for a wrong command line and
 * CommandError for a refusal, each with one readable message that never holds a secret: an
 * argument that looks like one is never echoed.
 */
export async function runKeysCommand(db: Kysely<Database>, argv: readonly string[], io: Output): Promise<void> {
  const { values, positionals } = parseCommandLine(argv);
  const [command, ...rest] = positionals;
  if (command === 'create') {
    noArguments(rest);
    const tenant = tenantOf(values.tenant);
    if (!tenant) throw new UsageError('create needs --tenant <tenant>.');
    const scopes = scopesOf(values.scope);
    const { secret, key } = await createApiKey(db, tenant, scopes);
    io.out(secret);
    io.info(
      `Created key ${key.prefix} for tenant ${key.tenant_id} (scopes: ${key.scopes.join(', ')}). The secret above is shown only this once: store it now.`,
    );
    return;
  }
  if (command === 'list') {
    noArguments(rest);
    if (values.scope) throw new UsageError('list takes no --scope.');
    const keys = await listApiKeys(db, tenantOf(values.tenant));
    if (values.json) return io.out(JSON.stringify(keys.map(toJson)));
    for (const line of table(keys)) io.out(line);
    return;
  }
  if (command === 'revoke') {
    if (values.tenant || values.scope) throw new UsageError("revoke takes only the key's prefix.");
    const [prefix, ...more] = rest;
    noArguments(more);
    if (prefix === undefined) throw new UsageError("revoke needs the key's prefix (npm run keys -- list shows them).");
    // someone pasted the whole secret: take its prefix, never print it
    const match = SECRET_PATTERN.exec(prefix);
    const name = match ? match[1]! : prefix;
    if (!isPrefix(name)) throw new UsageError('A prefix is 12 lowercase letters and digits, as `npm run keys -- list` shows it.');
    const key = await revokeApiKey(db, name);
    if (!key) throw new CommandError(`No key has the prefix ${name}.`);
    io.info(
      `Revoked key ${key.prefix} of tenant ${key.tenant_id} (at ${key.revoked_at!.toISOString()}); every API refuses it within a few seconds.`,
    );
    return;
  }
  throw new UsageError(command === undefined ? 'Give a command.' : `Unknown command${isSafeToEcho(command) ? ` "${command}"` : ''}.`);
}

function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { tenant: { type: 'string' }, scope: { type: 'string', multiple: true }, json: { type: 'boolean' } },
    });
  } catch (err) {
    // parseArgs names options, never their values
    throw new UsageError((err as Error).message, { cause: err });
  }
}

function noArguments(rest: readonly string[]): void {
  if (rest.length > 0)
    throw new UsageError(`Unexpected argument${rest.length > 1 ? 's' : ''}${rest.every(isSafeToEcho) ? `: ${rest.join(' ')}` : ''}.`);
}

function tenantOf(tenant: string | undefined): string | undefined {
  if (tenant === undefined) return undefined;
  if (!TENANT_PATTERN.test(tenant)) throw new UsageError('A tenant is letters, digits, "_", "." and "-".');
  return tenant;
}

function scopesOf(scopes: string[] | undefined): ApiKeyScope[] {
  if (!scopes?.length) return [...API_KEY_SCOPES];
  const known = (s: string): s is ApiKeyScope => (API_KEY_SCOPES as readonly string[]).includes(s);
  const unknown = scopes.filter((s) => !known(s));
  if (unknown.length) throw new UsageError(`--scope is one of ${API_KEY_SCOPES.join(', ')}.`);
  return API_KEY_SCOPES.filter((s) => scopes.includes(s));
}

/** Short words only: anything long enough to be a secret is never printed back. */
function isSafeToEcho(arg: string): boolean {
  return /^[A-Za-z-]{1,20}$/.test(arg);
}

const when = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');

function toJson(k: ApiKeyInfo) {
  return {
    prefix: k.prefix,
    tenant: k.tenant_id,
    scopes: k.scopes,
    createdAt: k.created_at,
    lastUsedAt: k.last_used_at,
    revokedAt: k.revoked_at,
  };
}

function table(keys: readonly ApiKeyInfo[]): string[] {
  const rows = [
    ['PREFIX', 'TENANT', 'SCOPES', 'CREATED', 'LAST USED', 'REVOKED'],
    ...keys.map((k) => [k.prefix, k.tenant_id, k.scopes.join(','), when(k.created_at), when(k.last_used_at), when(k.revoked_at)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}
