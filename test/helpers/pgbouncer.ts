import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { join } from 'node:path';
import { freePort } from '../infra/free-port.ts';
import { addressOf } from './services.ts';

export interface PrivatePgbouncer {
  port: number;
  /** `url` with its host and port replaced by the pgbouncer's */
  urlOf(url: string): string;
  /** the pgbouncer's log so far (a failing test prints it) */
  log(): string;
  stop(): Promise<void>;
}

export interface PgbouncerOptions {
  /** server connections per database and user; small, so that clients must share them */
  poolSize?: number;
  maxClientConn?: number;
  /** seconds a client may wait for a server connection before PgBouncer fails its query (08P01) */
  queryWaitTimeoutS?: number;
}

/**
 * A private pgbouncer (Debian's, on PATH or in /usr/sbin) on a free loopback port, in transaction
 * pooling mode with trust auth, in front of the Postgres of `postgresUrl`: any database name is
 * passed through (the `*` entry). As root it runs as the `postgres` OS user, since pgbouncer
 * refuses root.
 */
export async function startPgbouncer(postgresUrl: string, opts: PgbouncerOptions = {}): Promise<PrivatePgbouncer> {
  const dir = mkdtempSync(join(tmpdir(), 'idemq-pgbouncer-'));
  const port = await freePort();
  const upstream = addressOf(postgresUrl);
  const user = decodeURIComponent(new URL(postgresUrl).username || 'postgres');
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${upstream.host} port=${upstream.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir =`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `admin_users = ${user}`,
      `default_pool_size = ${opts.poolSize ?? 3}`,
      'min_pool_size = 0',
      'reserve_pool_size = 0',
      `max_client_conn = ${opts.maxClientConn ?? 200}`,
      'server_reset_query = DISCARD ALL',
      `query_wait_timeout = ${opts.queryWaitTimeoutS ?? 120}`,
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (owner) for (const f of ['', 'userlist.txt', 'pgbouncer.ini']) chownSync(join(dir, f), owner.uid, owner.gid);
  const env = { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` };
  const child: ChildProcess = spawn('pgbouncer', [join(dir, 'pgbouncer.ini')], { stdio: 'ignore', env, ...owner });
  const log = () => {
    try {
      return readFileSync(join(dir, 'pgbouncer.log'), 'utf8');
    } catch {
      return '';
    }
  };
  for (let i = 0; !(await accepts(port)); i++) {
    if (child.exitCode !== null || i > 100) {
      child.kill('SIGKILL');
      throw new Error(`pgbouncer on port ${port} did not start:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    urlOf(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        // SIGINT: pgbouncer closes its connections at once (SIGTERM waits for clients to leave)
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Client connections the pgbouncer behind `url` (a database's URL through it) holds for that
 * database right now, from its admin console (`SHOW CLIENTS`).
 */
export async function pgbouncerClients(url: string): Promise<number> {
  const console = new URL(url);
  const database = console.pathname.slice(1);
  console.pathname = '/pgbouncer';
  // the admin console speaks only the simple query protocol: a query without parameters
  const client = new pg.Client({ connectionString: console.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ database: string }>('SHOW CLIENTS');
    return rows.filter((r) => r.database === database).length;
  } finally {
    await client.end();
  }
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
