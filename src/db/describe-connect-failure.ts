/** Network failures of a connection, by errno code, in words. */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name not resolved (DNS)',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
};

interface ErrnoLike {
  code?: string;
  message?: string;
  errors?: unknown[];
}

/**
 * What a failure to reach the database at `url` means to an operator, as one problem line naming
 * DATABASE_URL (host, port and database, never the password), or undefined when `err` is not a
 * connection failure (a statement that failed). Reads SQLSTATEs (3D000 no such database, 28P01 and
 * 28000 credentials, 57P03 starting up) and errno codes, also inside an AggregateError (Node tries
 * each address of `localhost` in turn).
 */
export function describeConnectFailure(err: unknown, url: string, variable = 'DATABASE_URL'): string | undefined {
  const target = describeTarget(url);
  const code = codeOf(err);
  if (code === '3D000') {
    return `${variable}: database "${target.database}" does not exist on ${target.address}: run \`npm run migrate\` with this DATABASE_URL (it creates the database when its user may, then the tables), or create it (\`createdb ${target.database}\`) and then run \`npm run migrate\``;
  }
  if (code === '28P01' || code === '28000') {
    return `${variable}: Postgres at ${target.address} refused user "${target.user}" (${code === '28P01' ? 'wrong password' : 'not allowed by pg_hba.conf'}): check the user and password in ${variable}`;
  }
  if (code === '57P03')
    return `${variable}: Postgres at ${target.address} is starting up or shutting down: start again once it accepts connections`;
  if (code && UNREACHABLE[code]) {
    return `${variable}: cannot reach Postgres at ${target.address} (${UNREACHABLE[code]}): check that Postgres runs there and accepts connections from this machine, and that ${variable} names it`;
  }
  if (
    /timeout exceeded when trying to connect|Connection terminated due to connection timeout/i.test(String((err as ErrnoLike)?.message))
  ) {
    return `${variable}: Postgres at ${target.address} did not answer within 5 s: check that it runs there and that no firewall drops the connection`;
  }
  return undefined;
}

function codeOf(err: unknown): string | undefined {
  const e = err as ErrnoLike | undefined;
  if (!e) return undefined;
  if (typeof e.code === 'string') return e.code;
  for (const inner of e.errors ?? []) {
    const code = codeOf(inner);
    if (code) return code;
  }
  return undefined;
}

function describeTarget(url: string): { address: string; database: string; user: string } {
  try {
    const u = new URL(url);
    return {
      address: `${u.hostname || 'localhost'}:${u.port || '5432'}`,
      database: decodeURIComponent(u.pathname.slice(1)) || decodeURIComponent(u.username) || 'postgres',
      user: decodeURIComponent(u.username) || 'postgres',
    };
  } catch {
    return { address: '(unparsable URL)', database: '?', user: '?' };
  }
}
