import { writeSync } from 'node:fs';

/**
 * A start-up the environment makes impossible (no database, a busy port, a schema not migrated):
 * nothing in the code is at fault, so the process says what to do instead of printing a stack.
 * `problems` read like ConfigError's, one `VARIABLE: what is wrong: what to do` each; `cause` keeps
 * the original error (logged at debug level).
 */
export class StartupError extends Error {
  readonly problems: string[];
  constructor(problems: string[], options?: { cause?: unknown }) {
    super(`Cannot start:\n  - ${problems.join('\n  - ')}`, options);
    this.name = 'StartupError';
    this.problems = problems;
  }
}

/**
 * Prints the list of problems (`title`, then one `  - ` line each, then `footer`) and ends the
 * process with exit code 1, synchronously so nothing is lost to the exit. ConfigError and
 * StartupError share it, so an operator reads one format whatever stopped the start.
 */
export function exitWithProblems(message: string, footer: string): never {
  writeSync(2, `${message}\n${footer}\n`);
  process.exit(1);
}

/** For an entry point: a StartupError is printed as its list and ends the process (exit 1); anything else is rethrown. */
export function exitIfStartupError(err: unknown, debug?: (err: unknown) => void): never {
  if (!(err instanceof StartupError)) throw err;
  debug?.(err);
  exitWithProblems(err.message, 'Fix these and start again (docs/operations.md, "Start-up failures").');
}
