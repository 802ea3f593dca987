import { type ChildProcess, spawn } from 'node:child_process';

export interface CommandProcess {
  child: ChildProcess;
  /** the exit code once the process is gone (null: ended by a signal) */
  exited: Promise<number | null>;
  /** what it printed on stdout and stderr, the last 20,000 characters */
  output(): string;
  /** SIGTERM, then the exit code; SIGKILL after `graceMs` */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Runs `command` with bash as a process manager or a container runtime does: looked up on the PATH
 * of `env` (which is the whole environment: nothing of the test's own leaks in), in `cwd`. The
 * test must stop it.
 */
export function startCommand(command: string, opts: { cwd: string; env: Record<string, string> }): CommandProcess {
  const child = spawn('bash', ['-c', command], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    exited,
    output: () => output,
    async stop(graceMs = 10_000) {
      if (running()) child.kill('SIGTERM');
      const timer = setTimeout(() => running() && child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
