import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { buildApp, openapiDocument } from '../app.ts';
import { appMigrations, type IdemqApp } from '../app-definition.ts';
import { createApiDeps } from '../deps.ts';
import { loadProcessConfig } from '../process-config.ts';
import { documentText, loadOpenapiTypescript, type OpenapiTypescript, typesHeader, typesOf } from './generate-types.ts';

export interface ClientTypesOptions {
  /** the file to write the types to (`paths`, `components`, `operations`), for `createClient<paths>()`; without it, nothing is written and the caller takes `types` */
  out?: string;
  /** a running service's admin server (e.g. `http://localhost:3001`): its document is fetched from `/docs/json` */
  url?: string;
  /** the admin token for `url`; default: `env.ADMIN_TOKEN` */
  adminToken?: string;
  /**
   * without `url`: the app whose document is built in-process (an IdemqApp, or the path of a module
   * that exports one as its default or as `app`, relative to `cwd`); default: no operations of its
   * own, so only the core's routes and the forward routes of the environment's FORWARD_ROUTES_FILE
   */
  app?: IdemqApp | string;
  /** also write the OpenAPI document itself (JSON) there */
  documentOut?: string;
  /** the environment: the in-process build's database, Redis and FORWARD_ROUTES_FILE; ADMIN_TOKEN */
  env?: Record<string, string | undefined>;
  /** where `out`, `documentOut`, `app` and openapi-typescript are looked up; default the process's */
  cwd?: string;
  /** openapi-typescript's entry; default: the one installed in `cwd`'s project */
  generator?: OpenapiTypescript;
  /** the command named in the generated file's header, to make it again */
  command?: string;
}

/**
 * Writes the TypeScript types of a service's OpenAPI document: the one its admin server serves
 * (`url`), or the one an app's API builds in-process (`app`: this connects to the database and
 * Redis of `env`, as the API would, and needs the database migrated). Resolves with the document.
 */
export async function writeClientTypes(
  opts: ClientTypesOptions,
): Promise<{ out: string | undefined; types: string; document: Record<string, unknown> }> {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? {};
  if (opts.url !== undefined && opts.app !== undefined)
    throw new Error('client-types: give either --url (a running service) or --app (built in-process), not both.');
  const generator = opts.generator ?? (await loadOpenapiTypescript(cwd));
  const document =
    opts.url !== undefined
      ? await fetchDocument(opts.url, opts.adminToken ?? env.ADMIN_TOKEN)
      : await buildDocument(await appOf(opts.app, cwd), env);
  const types = await typesOf(generator, document, typesHeader(opts.command ?? 'idemq client-types'));
  const out = opts.out === undefined ? undefined : resolve(cwd, opts.out);
  if (out !== undefined) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, types);
  }
  if (opts.documentOut !== undefined) writeFileSync(resolve(cwd, opts.documentOut), documentText(document));
  return { out, types, document };
}

/** The document a running service's admin server serves at /docs/json. */
export async function fetchDocument(base: string, adminToken: string | undefined): Promise<Record<string, unknown>> {
  if (!adminToken) throw new Error('client-types --url: the admin server needs the admin token: set ADMIN_TOKEN or pass --admin-token.');
  const url = new URL('docs/json', base.endsWith('/') ? base : `${base}/`);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${adminToken}`, accept: 'application/json' } });
  } catch (err) {
    throw new Error(
      `client-types --url: could not reach ${url.href}: is the service running, and is this its admin address (ADMIN_PORT)?`,
      { cause: err },
    );
  }
  if (res.status === 401 || res.status === 403)
    throw new Error(`client-types --url: ${url.href} refused the admin token (${res.status}): use the service's ADMIN_TOKEN.`);
  if (!res.ok)
    throw new Error(`client-types --url: ${url.href} answered ${res.status}: give the admin server's address (ADMIN_PORT), not the API's.`);
  const document = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (typeof document?.openapi !== 'string' || typeof document.paths !== 'object' || document.paths === null) {
    throw new Error(
      `client-types --url: ${url.href} did not answer with an OpenAPI document: give the admin server's address (ADMIN_PORT).`,
    );
  }
  return document;
}

/** The OpenAPI document of `app`'s API, built in-process with the configuration of `env`. */
export async function buildDocument(app: IdemqApp, env: Record<string, string | undefined>): Promise<Record<string, unknown>> {
  const { config, operations } = loadProcessConfig(env, { operations: app.operations });
  const { deps, close } = await createApiDeps(config, pino({ level: 'warn' }), appMigrations(app));
  try {
    const api = await buildApp(deps, { operations, routes: app.routes ?? [] });
    try {
      await api.ready();
      return openapiDocument(api);
    } finally {
      await api.close();
    }
  } finally {
    await close();
  }
}

async function appOf(app: IdemqApp | string | undefined, cwd: string): Promise<IdemqApp> {
  if (app === undefined) return { operations: [] };
  if (typeof app !== 'string') return app;
  const module = (await import(pathToFileURL(resolve(cwd, app)).href)) as { default?: unknown; app?: unknown };
  const found = (module.default ?? module.app) as Partial<IdemqApp> | undefined;
  if (!found || !Array.isArray(found.operations))
    throw new Error(
      `client-types --app: ${app} exports no app: export an IdemqApp ({ operations, migrations, routes }) as its default or as \`app\`.`,
    );
  return found as IdemqApp;
}
