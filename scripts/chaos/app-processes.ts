import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROOT = new URL('../../', import.meta.url).pathname;

export interface AppProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** resolves with the exit code (null when a signal ended it) */
  exited: Promise<number | null>;
  alive(): boolean;
}

/**
 * Runs one of the service's entry points (`examples/ledger/api.ts`, `examples/ledger/worker.ts`, `examples/ledger/migrate.ts`) as
 * its own Node process, exactly as production does, with output appended to `<logDir>/<name>.log`.
 * Only the variables in `env` (plus PATH and HOME) reach it, so nothing of the caller's leaks in.
 */
export function spawnApp(entry: string, name: string, env: Record<string, string>, logDir: string): AppProcess {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [join(ROOT, entry)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    pid: child.pid!,
    child,
    logFile,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Runs the migration CLI to completion; throws with its output if it fails. */
export async function migrate(env: Record<string, string>, logDir: string): Promise<void> {
  const p = spawnApp('examples/ledger/migrate.ts', 'migrate', env, logDir);
  const code = await p.exited;
  if (code !== 0) throw new Error(`migration failed (exit ${code}):\n${readFileSync(p.logFile, 'utf8')}`);
}

/** Waits until `probe` is true, or throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Resolves once a worker process has logged that it started. */
export function workerReady(p: AppProcess, timeoutMs = 30_000): Promise<void> {
  return waitFor(
    `${p.name} to start`,
    () => {
      if (!p.alive()) throw new Error(`${p.name} exited before starting:\n${readFileSync(p.logFile, 'utf8').slice(-3_000)}`);
      return readFileSync(p.logFile, 'utf8').includes('worker started');
    },
    timeoutMs,
  );
}

/** Resolves once the API answers /readyz with 200. */
export function apiReady(p: AppProcess, baseUrl: string, timeoutMs = 30_000): Promise<void> {
  return waitFor(
    `${p.name} to be ready`,
    async () => {
      if (!p.alive()) throw new Error(`${p.name} exited before it was ready:\n${readFileSync(p.logFile, 'utf8').slice(-3_000)}`);
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      return res?.status === 200;
    },
    timeoutMs,
  );
}

/**
 * SIGTERM, then the time it took to exit and its code; SIGKILL (code null) if it outlives `boundMs`.
 */
export async function stopGracefully(p: AppProcess, boundMs: number): Promise<{ ms: number; code: number | null }> {
  if (!p.alive()) return { ms: 0, code: await p.exited };
  const started = Date.now();
  p.child.kill('SIGTERM');
  const code = await Promise.race([p.exited, sleep(boundMs).then(() => 'late' as const)]);
  if (code === 'late') {
    p.child.kill('SIGKILL');
    await p.exited;
    return { ms: Date.now() - started, code: null };
  }
  return { ms: Date.now() - started, code };
}
