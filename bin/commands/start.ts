import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_ENVIRONMENT, APP_FLAGS, appFlag, passOnRoutes, SERVICE_ENVIRONMENT, WORKER_ENVIRONMENT } from '../app-flags.ts';
import { type Command, HELP_FLAG, type Invocation } from '../command.ts';
import { loadApp } from '../load-app.ts';
import { passOnDefault } from '../process-env.ts';
import { superviseProcesses } from '../supervise.ts';

// beside this module, with its extension: the sources' .ts, or a build's .js
const IDEMQ = fileURLToPath(new URL(`../idemq${extname(import.meta.url)}`, import.meta.url));

/**
 * The API and one worker as two child processes of this one (superviseProcesses), after the
 * migrations if `migrate`. Resolves once they run; the process exits when they have stopped.
 */
export async function startApiAndWorker(invocation: Invocation, opts: { migrate: boolean }): Promise<number | undefined> {
  const module = appFlag(invocation);
  // loaded here first, so a wrong --app is said once, before any process starts
  const app = await loadApp(module);
  passOnRoutes(invocation);
  // the environment and the routes file checked once here: a problem is listed once, not by each process
  const { loadProcessConfigOrExit } = await import('../../src/load-config-or-exit.ts');
  loadProcessConfigOrExit({ operations: app.operations });
  if (opts.migrate) {
    const { runMigrateProcess } = await import('../../src/db/run-migrate.ts');
    await runMigrateProcess(app);
    if (process.exitCode) return Number(process.exitCode);
  }
  // No balancer sits in front of this API: a drain before closing would only make Ctrl-C slow.
  passOnDefault('SHUTDOWN_DRAIN_MS', '0');
  const appArgs = module === undefined ? [] : ['--app', resolve(module)];
  superviseProcesses([
    [IDEMQ, 'api', ...appArgs],
    [IDEMQ, 'worker', ...appArgs],
  ]);
  return undefined;
}

export const start: Command = {
  name: 'start',
  summary: 'the API and one worker together, in one terminal; graceful on Ctrl-C and SIGTERM',
  usage: 'idemq start [--app <module>] [--routes <file>] [--migrate]',
  description: [
    'Runs `idemq api` and `idemq worker` as two processes and stops both gracefully on Ctrl-C or',
    'SIGTERM (exit code 0); a second Ctrl-C stops them at once. If one exits, the other is stopped.',
    'The database must be migrated (`idemq migrate`, or --migrate). SHUTDOWN_DRAIN_MS defaults to 0',
    'here: no load balancer waits on this API. In production run the API and the workers as separate',
    'processes, each scaled on its own.',
  ].join('\n'),
  flags: { ...APP_FLAGS, migrate: { type: 'boolean', description: 'run `idemq migrate` first' }, help: HELP_FLAG },
  environment: [...SERVICE_ENVIRONMENT, ...API_ENVIRONMENT, ...WORKER_ENVIRONMENT],
  examples: ['idemq start --app ./src/app.ts --migrate', 'idemq start --routes ./routes.json'],
  run: (invocation) => startApiAndWorker(invocation, { migrate: invocation.values.migrate === true }),
};
