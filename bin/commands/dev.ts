import { APP_FLAGS, SERVICE_ENVIRONMENT } from '../app-flags.ts';
import { type Command, HELP_FLAG } from '../command.ts';
import { startApiAndWorker } from './start.ts';

export const dev: Command = {
  name: 'dev',
  summary: 'development: migrates, then runs the API and a worker against the configured Postgres and Redis',
  usage: 'idemq dev [--app <module>] [--routes <file>]',
  description: [
    'For development on your machine: `idemq migrate`, then `idemq start`, against the Postgres of',
    'DATABASE_URL and the Redis of REDIS_URL (by default the local ones). It embeds no database yet:',
    'both services must be running.',
  ].join('\n'),
  flags: { ...APP_FLAGS, help: HELP_FLAG },
  environment: [...SERVICE_ENVIRONMENT, ['PORT, ADMIN_PORT', 'the API (default 3000) and the admin server (default 9090)']],
  examples: ['idemq dev --app ./src/app.ts', 'idemq dev --routes ./routes.json'],
  async run(invocation) {
    console.log(
      'idemq dev: migrating, then starting the API and a worker against the configured Postgres (DATABASE_URL) and Redis (REDIS_URL); no embedded database yet',
    );
    return startApiAndWorker(invocation, { migrate: true });
  },
};
