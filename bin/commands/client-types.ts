import { writeFileSync } from 'node:fs';
import { APP_FLAGS, appFlag, passOnRoutes } from '../app-flags.ts';
import { CliError, type Command, HELP_FLAG, type Invocation, UsageError } from '../command.ts';
import { loadApp } from '../load-app.ts';

/** The OpenAPI document of the running service at `base` (its admin server), fetched with the admin token. */
async function fetchDocument(base: string): Promise<object> {
  const { loadConfigOrExit } = await import('../../src/load-config-or-exit.ts');
  const { admin } = loadConfigOrExit({ servesApi: false });
  const url = new URL('docs/json', base.endsWith('/') ? base : `${base}/`);
  const res = await fetch(url, { headers: { authorization: `Bearer ${admin.token}` } }).catch((err: Error) => {
    throw new CliError(
      `${url}: no answer (${err.message}). --url is the admin server's address (ADMIN_HOST:ADMIN_PORT, default http://127.0.0.1:9090).`,
      { cause: err },
    );
  });
  if (res.status === 401 || res.status === 403)
    throw new CliError(`${url}: ${res.status}: the admin server refused ADMIN_TOKEN; set the token it runs with.`);
  if (!res.ok) throw new CliError(`${url}: ${res.status} ${res.statusText}`);
  return (await res.json()) as object;
}

/** The OpenAPI document of `--app` (and the forward routes), built in-process against the configured database. */
async function appDocument(invocation: Invocation): Promise<object> {
  const { pino } = await import('pino');
  const { appMigrations } = await import('../../src/app-definition.ts');
  const { buildApp, createApiDeps, openapiDocument } = await import('../../src/index.ts');
  const { loadProcessConfigOrExit } = await import('../../src/load-config-or-exit.ts');
  passOnRoutes(invocation);
  const app = await loadApp(appFlag(invocation));
  const { config, operations } = loadProcessConfigOrExit({ operations: app.operations });
  const { deps, close } = await createApiDeps(config, pino({ level: 'warn' }), appMigrations(app));
  const server = await buildApp(deps, { operations, routes: app.routes });
  try {
    await server.ready();
    return openapiDocument(server);
  } finally {
    await server.close();
    await close();
  }
}

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
    const document = typeof url === 'string' ? await fetchDocument(url) : await appDocument(invocation);
    const { documentText, generateTypes } = await import('../../clients/typescript/scripts/generate-types.ts').catch((err: Error) => {
      throw new CliError(
        `the type generator (openapi-typescript) could not be loaded: ${err.message}. Install it beside idemq: npm install --save-dev openapi-typescript`,
        { cause: err },
      );
    });
    const types = await generateTypes(document);
    if (typeof openapi === 'string') writeFileSync(openapi, documentText(document));
    if (typeof out === 'string') {
      writeFileSync(out, types);
      console.error(`wrote ${out}${typeof openapi === 'string' ? ` and ${openapi}` : ''}`);
    } else process.stdout.write(types);
    return 0;
  },
};
