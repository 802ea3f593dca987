import { APP_FLAGS, appFlag } from '../app-flags.ts';
import { type Command, HELP_FLAG } from '../command.ts';
import { loadApp } from '../load-app.ts';

export const migrate: Command = {
  name: 'migrate',
  summary: "creates the database if missing, then runs idemq's migrations and your app's",
  usage: 'idemq migrate [--app <module>]',
  description: [
    "Creates the database of DATABASE_URL if it does not exist, then runs idemq's migrations (schema",
    "idemq) and your app's (its own schema), each once. Run it before the API and the workers start,",
    'as a release step: it exits non-zero on any failure. A gateway (forward routes only) needs no --app.',
  ].join('\n'),
  flags: { app: APP_FLAGS.app!, help: HELP_FLAG },
  environment: [['DATABASE_URL', 'the database to create and migrate (default postgres://postgres@127.0.0.1:5432/idemq)']],
  examples: ['idemq migrate --app ./src/app.ts', 'DATABASE_URL=postgres://app@db/idemq idemq migrate'],
  async run(invocation) {
    const { runMigrateProcess } = await import('../../src/db/run-migrate.ts');
    await runMigrateProcess(await loadApp(appFlag(invocation)));
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  },
};
