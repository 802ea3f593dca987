import { spawn } from 'node:child_process';

// `npm start`: the API and one worker in one terminal, for a first try. In production run them
// as separate processes (Procfile), each scaled on its own.
const children = ['src/main.ts', 'workers/main.ts'].map((entry) =>
  spawn(process.execPath, [entry], { stdio: 'inherit', env: process.env }),
);
let exiting = false;
const stop = (signal: NodeJS.Signals) => {
  exiting = true;
  for (const child of children) child.kill(signal);
};
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
for (const child of children) {
  child.on('exit', (code) => {
    if (!exiting) {
      console.error(`a process exited (code ${code}); stopping the other`);
      stop('SIGTERM');
    }
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(code ?? 0);
  });
}
