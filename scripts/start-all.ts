import { spawn } from 'node:child_process';

// `npm start`: the API and one worker in one terminal, for a first try. In production run them
// as separate processes (Procfile), each scaled on its own.
// Each child leads a process group of its own, so a terminal's Ctrl-C (SIGINT to the whole
// foreground group) reaches only this process, which passes it on once as SIGTERM. Had the
// children got the terminal's SIGINT too, the SIGTERM would be their second signal, which means
// "exit now" and skips the graceful shutdown. A second Ctrl-C still means exactly that.
// No balancer sits in front of this API: its drain before closing (SHUTDOWN_DRAIN_MS) would only
// make Ctrl-C slow, unless asked for.
const env = { SHUTDOWN_DRAIN_MS: '0', ...process.env };
const children = ['examples/ledger/api.ts', 'examples/ledger/worker.ts'].map((entry) =>
  spawn(process.execPath, [entry], { stdio: ['ignore', 'inherit', 'inherit'], env, detached: true }),
);
const running = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
let exiting = false;
const stop = () => {
  exiting = true;
  for (const child of running()) child.kill('SIGTERM');
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
// in their own groups the children outlive this process unless told: never leave them behind
process.on('exit', () => {
  for (const child of running()) child.kill('SIGTERM');
});
for (const child of children) {
  child.on('exit', (code) => {
    if (!exiting) {
      console.error(`a process exited (code ${code}); stopping the other`);
      stop();
    }
    if (running().length === 0) process.exit(Math.max(...children.map((c) => c.exitCode ?? 1)));
  });
}
