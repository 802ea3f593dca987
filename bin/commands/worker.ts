import { APP_FLAGS, appFlag, passOnRoutes, SERVICE_ENVIRONMENT, WORKER_ENVIRONMENT } from '../app-flags.ts';
import { type Command, HELP_FLAG } from '../command.ts';
import { loadApp } from '../load-app.ts';

export const worker: Command = {
  name: 'worker',
  summary: "a worker process: runs the jobs of your app's operations and of the forward routes",
  usage: 'idemq worker [--app <module>] [--routes <file>]',
  description: [
    "Runs one worker process: the jobs of your app's operations and forward routes, the outbox relay",
    'that pushes completions, the reconciler and the expiry of old keys. Run as many as you need.',
    'It needs a migrated database (`idemq migrate`). SIGTERM or Ctrl-C: finishes or releases the',
    'jobs it holds, exits 0.',
  ].join('\n'),
  flags: { ...APP_FLAGS, help: HELP_FLAG },
  environment: [
    ...SERVICE_ENVIRONMENT,
    ...WORKER_ENVIRONMENT,
    ['HEARTBEAT_FILE', 'rewritten every 5 s while the worker takes jobs (a liveness probe)'],
  ],
  examples: ['idemq worker --app ./src/app.ts', 'WORKER_CONCURRENCY=64 idemq worker --routes ./routes.json'],
  async run(invocation) {
    passOnRoutes(invocation);
    const { runWorkerProcess } = await import('../../workers/index.ts');
    await runWorkerProcess(await loadApp(appFlag(invocation)));
    return undefined;
  },
};
