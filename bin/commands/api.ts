import { API_ENVIRONMENT, APP_FLAGS, appFlag, passOnRoutes, SERVICE_ENVIRONMENT } from '../app-flags.ts';
import { type Command, HELP_FLAG } from '../command.ts';
import { loadApp } from '../load-app.ts';

export const api: Command = {
  name: 'api',
  summary: "the API process: submit, status, events; your app's routes and the forward routes",
  usage: 'idemq api [--app <module>] [--routes <file>]',
  description: [
    "Runs one API process: the public API on HOST:PORT (your app's operations and routes, the forward",
    'routes, status, long-poll, SSE and WebSocket) and the admin server on ADMIN_HOST:ADMIN_PORT.',
    'It needs a migrated database (`idemq migrate`) and a worker (`idemq worker`) to run the jobs.',
    'SIGTERM or Ctrl-C: drains for SHUTDOWN_DRAIN_MS, finishes what it holds, exits 0.',
  ].join('\n'),
  flags: { ...APP_FLAGS, help: HELP_FLAG },
  environment: [...SERVICE_ENVIRONMENT, ...API_ENVIRONMENT],
  examples: ['idemq api --app ./src/app.ts', 'HOST=0.0.0.0 PORT=8080 idemq api --routes ./routes.json'],
  async run(invocation) {
    passOnRoutes(invocation);
    const { runApiProcess } = await import('../../src/index.ts');
    await runApiProcess(await loadApp(appFlag(invocation)));
    return undefined;
  },
};
