import closeWithGrace from 'close-with-grace';
import type { Logger } from 'pino';
import { buildAdminApp } from './admin/admin-app.ts';
import { buildApp, openapiDocument } from './app.ts';
import { appMigrations, type IdemqApp } from './app-definition.ts';
import type { Config } from './config.ts';
import { createApiDeps } from './deps.ts';
import { drainServer } from './http/drain.ts';
import { hasLiveKey } from './keys/api-key.repository.ts';
import { listenOrExplain } from './listen-failure.ts';
import { exitOnStartFailure, loadProcessConfigOrExit } from './load-config-or-exit.ts';
import { createLogger } from './logger.ts';
import { startTracing } from './tracing/start-tracing.ts';

/**
 * An API process serving `app`, and the forward routes of FORWARD_ROUTES_FILE: loadProcessConfig -> createDeps -> buildApp and buildAdminApp -> listen
 * (the API on HOST:PORT, the admin server on ADMIN_HOST:ADMIN_PORT). On SIGTERM the API drains for
 * SHUTDOWN_DRAIN_MS (still serving, /readyz 503, every answer closing its connection), then both
 * servers stop accepting and finish what they hold, then the pools close; the process exits 1 if
 * that takes over SHUTDOWN_DRAIN_MS + SHUTDOWN_TIMEOUT_MS. A configuration error, and a start-up
 * the environment prevents (no database, one not migrated, a busy port: StartupError), end the
 * process (exit code 1) with the list of problems and what to do. With no API key at all it
 * starts, and warns.
 */
export async function runApiProcess(app: IdemqApp, opts: { name?: string } = {}): Promise<void> {
  const { config, operations } = loadProcessConfigOrExit({ operations: app.operations });
  const log = createLogger(config.logLevel, opts.name ?? 'idemq-api');
  await startApiProcess({ ...app, operations }, config, log, opts.name ?? 'idemq-api').catch((err) =>
    exitOnStartFailure(err, (e) => log.debug({ err: e }, 'start-up failed')),
  );
}

async function startApiProcess(app: IdemqApp, config: Config, log: Logger, name: string): Promise<void> {
  const tracing = startTracing(config.tracing, name);
  const { deps, admin, close } = await createApiDeps(config, log, appMigrations(app));
  if (config.apiKeys.size === 0 && !(await hasLiveKey(deps.db))) {
    log.warn(
      'no API key exists: every request will be refused (401) until one does; create one with `npm run keys -- create --tenant <tenant>` (it works within API_KEYS_REFRESH_MS, without a restart)',
    );
  }
  const draining = new AbortController();
  const server = await buildApp({ ...deps, draining: draining.signal }, { operations: app.operations, routes: app.routes, logger: log });
  await server.ready();
  const adminServer = await buildAdminApp({ ...admin, openapi: openapiDocument(server) }, { logger: log.child({ server: 'admin' }) });

  closeWithGrace({ delay: config.shutdownDrainMs + config.shutdownTimeoutMs, logger: log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an error');
    else {
      log.info({ signal, drainMs: config.shutdownDrainMs }, 'shutting down');
      await drainServer(server, draining, config.shutdownDrainMs);
    }
    await Promise.all([server.close(), adminServer.close()]);
    await close();
    await tracing.shutdown().catch((err) => log.warn({ err }, 'spans not exported at shutdown'));
  });

  await listenOrExplain(() => adminServer.listen({ host: config.admin.host, port: config.admin.port }), {
    hostVariable: 'ADMIN_HOST',
    portVariable: 'ADMIN_PORT',
    host: config.admin.host,
    port: config.admin.port,
  });
  await listenOrExplain(() => server.listen({ host: config.host, port: config.port }), {
    hostVariable: 'HOST',
    portVariable: 'PORT',
    host: config.host,
    port: config.port,
  });
}
