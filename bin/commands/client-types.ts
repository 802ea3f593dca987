import { APP_FLAGS, appFlag, passOnRoutes } from '../app-flags.ts';
import { CliError, type Command, HELP_FLAG, UsageError } from '../command.ts';
import { loadApp } from '../load-app.ts';

export const clientTypes: Command = {
  name: 'client-types',
  summary: "writes the TypeScript types of your service's API for @idemq/client (createClient<paths>())",
  usage: 'idemq client-types (--url <admin-base> | --app <module> | --routes <file>) [--out <file>] [--openapi <file>]',
  description: [
    'Generates `paths`, `components` and `operations` types (openapi-typescript) from the OpenAPI',
    "document of your service: fetched from a running service's admin server (--url, with",
    'ADMIN_TOKEN), or built in-process from your app and routes (--app, --routes; this needs the',
    "migrated database of DATABASE_URL). Each operation's `result` is typed from its output schema.",
    'The types go to --out, or to standard output.',
  ].join('\n'),
  flags: {
    ...APP_FLAGS,
    url: { type: 'string', value: '<admin-base>', description: "a running service's admin server, e.g. http://127.0.0.1:9090" },
    out: { type: 'string', value: '<file>', description: 'where to write the types (default: standard output)' },
    openapi: { type: 'string', value: '<file>', description: 'also write the OpenAPI document there' },
    help: HELP_FLAG,
  },
  environment: [
    ['ADMIN_TOKEN', "with --url: the admin server's token"],
    ['DATABASE_URL, REDIS_URL', 'with --app: the migrated database and the Redis the app is built against'],
  ],
  examples: [
    'idemq client-types --app ./src/app.ts --out src/api-types.ts',
    'ADMIN_TOKEN=... idemq client-types --url http://127.0.0.1:9090 --out api-types.ts',
  ],
  async run(invocation) {
    const { url, app, routes, out, openapi } = invocation.values;
    if (typeof url === 'string' && (app !== undefined || routes !== undefined))
      throw new UsageError('give either --url or --app/--routes, not both.');
    if (url === undefined && app === undefined && routes === undefined) throw new UsageError('give --url, --app or --routes.');
    passOnRoutes(invocation);
    const { writeClientTypes } = await import('../../src/client-types/write-client-types.ts');
    const result = await writeClientTypes({
      ...(typeof url === 'string' && { url }),
      ...(app !== undefined && { app: await loadApp(appFlag(invocation)) }),
      ...(typeof out === 'string' && { out }),
      ...(typeof openapi === 'string' && { documentOut: openapi }),
      // the ADMIN_TOKEN of --url, and the database, Redis and FORWARD_ROUTES_FILE of an in-process build
      env: process.env,
    }).catch((err: Error) => {
      throw new CliError(err.message, { cause: err });
    });
    if (result.out !== undefined) console.error(`wrote ${result.out}${typeof openapi === 'string' ? ` and ${openapi}` : ''}`);
    else process.stdout.write(result.types);
    return 0;
  },
};
