import { type Config, ConfigError, forwardRoutesFileOf, loadConfig } from './config.ts';
import { withForwardRoutes } from './operations/forward/forward-operation.ts';
import { loadForwardRoutes } from './operations/forward/forward-routes-file.ts';
import type { ForwardOperation, Operation } from './operations/operation.ts';

/** What a process entry starts with: its configuration, and every operation it runs. */
export interface ProcessConfig<T extends Operation = Operation> {
  config: Config;
  /** `operations` as given, then one operation per forward route of FORWARD_ROUTES_FILE */
  operations: (T | ForwardOperation)[];
}

/**
 * loadConfig, then the forward routes file it names (loadForwardRoutes), for a process that runs
 * `operations` (the app's). Throws one ConfigError listing every problem of both, the environment's
 * first: an invalid environment does not hide the file's problems, nor the file the environment's.
 * `servesApi` as loadConfig's.
 */
export function loadProcessConfig<T extends Operation>(
  env: Record<string, string | undefined>,
  opts: { servesApi?: boolean; operations: readonly T[] },
): ProcessConfig<T> {
  let config: Config | undefined;
  const problems: string[] = [];
  try {
    config = loadConfig(env, { servesApi: opts.servesApi });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const forward = loadForwardRoutes(config?.forwardRoutesFile ?? forwardRoutesFileOf(env), opts.operations);
  problems.push(...forward.problems);
  if (!config || problems.length > 0) throw new ConfigError(problems);
  return { config, operations: withForwardRoutes(opts.operations, forward.routes) };
}
