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
  spawn(process.execPath, ['--import', './scripts/exit-with-parent.ts', entry], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env,
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
// `npm start` execs this process, so one Ctrl-C arrives twice: the terminal's SIGINT and npm's
// copy of it. Both are one request to stop; a Ctrl-C later than that is the second one.
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
      console.error(`a process exited (code ${code}); stopping the other`);
      stop();
    }
    if (running().length === 0) process.exit(Math.max(...children.map((c) => c.exitCode ?? 1)));
  });
}
