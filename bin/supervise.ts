import { spawn } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

// beside this module, with its extension: the sources' .ts, or a build's .js
const EXIT_WITH_PARENT = fileURLToPath(new URL(`./exit-with-parent${extname(import.meta.url)}`, import.meta.url));

/**
 * Runs each of `processes` (the arguments of a Node.js process: a script and its own arguments)
 * as a child of this process, until one exits (then the others are stopped) or this process is
 * asked to stop; then this process exits with the highest exit code of its children.
 *
 * Each child leads a process group of its own, so a terminal's Ctrl-C (SIGINT to the whole
 * foreground group) reaches only this process, which passes it on once as SIGTERM. Had the
 * children got the terminal's SIGINT too, the SIGTERM would be their second signal, which means
 * "exit now" and skips the graceful shutdown. A second Ctrl-C still means exactly that. A child
 * also stops gracefully when this process dies without stopping it (exit-with-parent.ts).
 */
export function superviseProcesses(processes: readonly (readonly string[])[]): void {
  const children = processes.map((args) =>
    spawn(process.execPath, ['--import', EXIT_WITH_PARENT, ...args], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    }),
  );
  const running = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
  let exiting = false;
  let lastSignalAt = 0;
  const stop = () => {
    exiting = true;
    for (const child of running()) child.kill('SIGTERM');
  };
  // Under `npm start` one Ctrl-C arrives twice: the terminal's SIGINT and npm's copy of it. Both
  // are one request to stop; a Ctrl-C later than that is the second one.
  const onSignal = () => {
    const now = Date.now();
    const repeat = now - lastSignalAt < 1_000;
    lastSignalAt = now;
    if (!repeat) stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  for (const child of children) {
    child.on('exit', (code) => {
      if (!exiting) {
        console.error(`a process exited (code ${code}); stopping the other${children.length > 2 ? 's' : ''}`);
        stop();
      }
      if (running().length === 0) process.exit(Math.max(...children.map((c) => c.exitCode ?? 1)));
    });
  }
}
