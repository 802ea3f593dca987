import { writeSync } from 'node:fs';
import { type Config, ConfigError, loadConfig } from './config.ts';

/**
 * loadConfig for an entry point (API, worker, migrate): a ConfigError is printed once, as the list
 * of problems with what to do, and ends the process with exit code 1. No stack trace: nothing in
 * the code is at fault. Any other error is rethrown.
 */
export function loadConfigOrExit(opts?: Parameters<typeof loadConfig>[1]): Config {
  try {
    return loadConfig(process.env, opts);
  } catch (err) {
    return exitOnConfigError(err);
  }
}

/**
 * For a setting found wrong only once the process reaches a server (REDIS_CLUSTER_NODES naming a
 * standalone Redis): a ConfigError ends the process like loadConfigOrExit's; anything else is rethrown.
 */
export function exitOnConfigError(err: unknown): never {
  if (!(err instanceof ConfigError)) throw err;
  // synchronous, so nothing is lost to the exit below
  writeSync(2, `${err.message}\nCorrect these settings and start again (README.md, "Configuration", lists them all).\n`);
  process.exit(1);
}
