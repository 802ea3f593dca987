import { type Config, ConfigError, loadConfig } from './config.ts';
import type { Operation } from './operations/operation.ts';
import { loadProcessConfig, type ProcessConfig } from './process-config.ts';
import { exitIfStartupError, exitWithProblems } from './startup-error.ts';

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
 * loadProcessConfig for a process entry (API, worker): the configuration and the operations the
 * process runs, its forward routes included. A ConfigError (of the environment or of the routes
 * file, listed together) ends the process like loadConfigOrExit's.
 */
export function loadProcessConfigOrExit<T extends Operation>(opts: { servesApi?: boolean; operations: readonly T[] }): ProcessConfig<T> {
  try {
    return loadProcessConfig(process.env, opts);
  } catch (err) {
    return exitOnConfigError(err);
  }
}

/** A ConfigError ends the process like loadConfigOrExit's; anything else is rethrown. */
export function exitOnConfigError(err: unknown): never {
  if (!(err instanceof ConfigError)) throw err;
  exitWithProblems(err.message, 'Correct these settings and start again (docs/configuration.md lists them all).');
}

/**
 * For an entry point's start-up: a setting found wrong only once the process reaches a server
 * (ConfigError: REDIS_CLUSTER_NODES naming a standalone Redis) or a start-up the environment
 * prevents (StartupError: no database, one not migrated, a busy port) ends the process with its
 * list (exit code 1); `debug` sees the error first. Anything else is rethrown.
 */
export function exitOnStartFailure(err: unknown, debug?: (err: unknown) => void): never {
  if (err instanceof ConfigError) exitOnConfigError(err);
  return exitIfStartupError(err, debug);
}
