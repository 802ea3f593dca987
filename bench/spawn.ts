import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';

/**
 * File descriptors for 10,000 sockets and then some. Raising the hard limit needs CAP_SYS_RESOURCE,
 * which containers often lack (here the hard limit is 20,000): then the soft limit goes up to the hard one.
 */
export const OPEN_FILES = 65_536;

/**
 * Spawns a Node script with a raised open-files limit: bash sets `ulimit -n`, then `exec`s node, so
 * the child's pid is node's own (for /proc sampling and signals) and the IPC channel passes through.
 */
export function spawnNode(
  script: string,
  opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; args?: string[]; stdio?: StdioOptions; ipc?: boolean },
): ChildProcess {
  const args = [...(opts.nodeArgs ?? []), script, ...(opts.args ?? [])];
  return spawn('bash', ['-c', `ulimit -n ${OPEN_FILES} 2>/dev/null || ulimit -n hard; exec "$0" "$@"`, process.execPath, ...args], {
    env: opts.env ?? process.env,
    stdio: opts.stdio ?? ['ignore', 'inherit', 'inherit', ...(opts.ipc ? (['ipc'] as const) : [])],
    ...(opts.ipc ? { serialization: 'advanced' as const } : {}),
  });
}

/** Resolves with the exit code once the child has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** SIGTERM, and SIGKILL if it is still there after `graceMs`. Only ever this child, by its pid. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}
