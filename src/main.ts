import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.ts';
import { loadConfigOrExit } from './load-config-or-exit.ts';
import { createApiDeps } from './deps.ts';
import { createLogger } from './logger.ts';
import { operations } from './operations/registry.ts';

// API process: loadConfig -> createDeps -> buildApp -> listen; on SIGTERM stop accepting, drain, close pools.
const config = loadConfigOrExit({ operations });
const log = createLogger(config.logLevel, 'idemq-api');
const { deps, close } = await createApiDeps(config, log);
const app = await buildApp(deps, { logger: log });

closeWithGrace({ delay: config.shutdownTimeoutMs, logger: log }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal }, 'shutting down');
  await app.close();
  await close();
});

await app.listen({ host: config.host, port: config.port });
