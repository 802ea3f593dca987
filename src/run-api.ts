import closeWithGrace from 'close-with-grace';
import { buildAdminApp } from './admin/admin-app.ts';
import { buildApp, openapiDocument } from './app.ts';
import { appMigrations, type IdemqApp } from './app-definition.ts';
import { createApiDeps } from './deps.ts';
import { drainServer } from './http/drain.ts';
import { exitOnConfigError, loadConfigOrExit } from './load-config-or-exit.ts';
import { createLogger } from './logger.ts';
import { startTracing } from './tracing/start-tracing.ts';

/**
 * An API process serving `app`: loadConfig -> createDeps -> buildApp and buildAdminApp -> listen
 * (the API on HOST:PORT, the admin server on ADMIN_HOST:ADMIN_PORT). On SIGTERM the API drains for
 * SHUTDOWN_DRAIN_MS (still serving, /readyz 503, every answer closing its connection), then both
 * servers stop accepting and finish what they hold, then the pools close; the process exits 1 if
 * that takes over SHUTDOWN_DRAIN_MS + SHUTDOWN_TIMEOUT_MS. A configuration error ends the process (exit code 1) with the
 * list of problems; a database that lacks the core's or the app's migrations is refused.
 */
export async function runApiProcess(app: IdemqApp, opts: { name?: string } = {}): Promise<void> {
  const config = loadConfigOrExit({ operations: app.operations });
  const log = createLogger(config.logLevel, opts.name ?? 'idemq-api');
  const tracing = startTracing(config.tracing, opts.name ?? 'idemq-api');
  const { deps, admin, close } = await createApiDeps(config, log, appMigrations(app)).catch(exitOnConfigError);
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

  await adminServer.listen({ host: config.admin.host, port: config.admin.port });
  await server.listen({ host: config.host, port: config.port });
}
