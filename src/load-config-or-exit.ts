import { type Config, ConfigError, loadConfig } from './config.ts';
import { exitWithProblems } from './startup-error.ts';

/**
 * loadConfig for an entry point (API, worker, migrate): a ConfigError is printed once, as the list
 * of problems with what to do, and ends the process with exit code 1. No stack trace: nothing in
 * the code is at fault. Any other error is rethrown.
 */
export function loadConfigOrExit(opts?: Parameters<typeof loadConfig>[1]): Config {
  try {
    return loadConfig(process.env, opts);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    exitWithProblems(err.message, 'Correct these settings and start again (README.md, "Configuration", lists them all).');
  }
}
