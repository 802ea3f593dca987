import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The chaos run's own Postgres cluster and Redis server: loopback only, on free ports, with their
 * data in the run's temporary folder. Stopping, crashing and wiping them disturbs nobody else;
 * the shared services on 5432 and 6379 are never touched.
 */

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port nothing listens on right now (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The newest installed Postgres's binaries (Debian layout), or the ones on PATH. */
function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions[0]) return join(root, versions[0], 'bin');
  throw new Error('no Postgres server binaries found under /usr/lib/postgresql/<version>/bin (install postgresql)');
}

export interface PrivatePostgres {
  port: number;
  /** the cluster's data directory (postmaster.pid holds the postmaster's pid) */
  dataDir: string;
  /** connection string of the run's database */
  url: string;
  /** stops the server: `fast` (clean, clients told) or `immediate` (a crash: recovery on start) */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** best effort, for clean-up */
  destroy(): Promise<void>;
}

/**
 * Runs the Postgres binaries (initdb, pg_ctl, pg_basebackup …). Postgres refuses to run as root, so as
 * root they run as the `postgres` OS user (runuser), and `own` hands it a folder first.
 */
export async function postgresCommands(): Promise<{
  pgRun(cmd: string, args: string[], timeout?: number): Promise<{ stdout: string; stderr: string }>;
  own(dir: string): void;
}> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot
    ? { uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()), gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()) }
    : undefined;
  return {
    pgRun: (cmd, args, timeout = 60_000) =>
      asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { timeout }) : run(join(bin, cmd), args, { timeout }),
    own(dir) {
      if (owner) chownSync(dir, owner.uid, owner.gid);
    },
  };
}

/** What every private server runs with: its port, 127.0.0.1 only, its socket in its folder, fsync off. */
export function serverOptions(port: number, dir: string, settings: Record<string, string> = {}): string {
  const all = { listen_addresses: '127.0.0.1', fsync: 'off', max_connections: '300', ...settings };
  return [`-p ${port}`, `-k ${dir}`, ...Object.entries(all).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
}

/**
 * initdb + pg_ctl start of a fresh cluster under `dir`, as the `postgres` OS user when root (see
 * postgresCommands). Trust auth, 127.0.0.1 only, fsync off: the run crashes processes, never the
 * machine, so the OS cache keeps every committed write. `settings` are passed as `-c name=value`.
 */
export async function startPrivatePostgres(dir: string, database: string, settings: Record<string, string> = {}): Promise<PrivatePostgres> {
  const port = await freePort();
  const data = join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  const { pgRun, own } = await postgresCommands();
  own(dir);

  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = serverOptions(port, dir, settings);
  const start = async () => {
    await pgRun('pg_ctl', ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', '-o', options, 'start']);
  };
  await start();
  return {
    port,
    dataDir: data,
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    start,
    async stop(mode) {
      await pgRun('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
    },
    async destroy() {
      await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000).catch(() => undefined);
    },
  };
}

export interface PrivateRedis {
  port: number;
  url: string;
  /** the running redis-server's pid */
  pid(): number | undefined;
  /** `shutdown nosave`: the server and every key are gone until `start` */
  shutdown(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** A redis-server child without persistence (`--save "" --appendonly no`), bound to 127.0.0.1. */
export async function startPrivateRedis(dir: string): Promise<PrivateRedis> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const log = openSync(join(dir, 'redis.log'), 'a');
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const cli = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });

  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', log, log],
    });
    const current = child;
    exited = new Promise((resolve) => current.once('exit', () => resolve()));
    for (let i = 0; ; i++) {
      const pong = await cli('ping').then(
        (r) => r.stdout.trim(),
        () => '',
      );
      if (pong === 'PONG') return;
      if (current.exitCode !== null || i > 100) throw new Error(`redis-server on port ${port} did not start (see ${dir}/redis.log)`);
      await sleep(100);
    }
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child?.pid,
    start,
    async shutdown() {
      const current = child;
      await cli('shutdown', 'nosave').catch(() => undefined);
      const timer = setTimeout(() => current?.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
    async destroy() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
