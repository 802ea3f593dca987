/** One flag of a subcommand: parseArgs's description of it, plus what its help says. */
export interface Flag {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** the placeholder shown after a string flag: `<file>` */
  value?: string;
  /** one line for the help's list of flags */
  description: string;
}

/** What a subcommand's run receives: its flags and its positional arguments, parsed and checked. */
export interface Invocation {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  /** the arguments as given after the subcommand's name (for a command that parses its own) */
  argv: string[];
}

/**
 * A subcommand of `idemq`. Its help is built from these fields, so every flag it takes is listed,
 * and only those: `idemq <command> --help` prints it.
 */
export interface Command {
  name: string;
  /** one line for `idemq --help` */
  summary: string;
  /** `idemq api [--app <module>] [--routes <file>]` */
  usage: string;
  /** what the command does, a paragraph or two */
  description: string;
  flags: Record<string, Flag>;
  /** most positional arguments it takes (0 unless said) */
  maxPositionals?: number;
  /** the command parses its own arguments (after --help, which is always ours) */
  ownParsing?: boolean;
  /** environment variables that matter to it, with what each does here */
  environment: readonly (readonly [string, string])[];
  examples: readonly string[];
  /** runs it; resolves to the exit code, or undefined to leave the process to exit on its own */
  run(invocation: Invocation): Promise<number | undefined>;
}

/** A command line the CLI refuses: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** A command that cannot do its job for a reason the user can fix: printed as is, exit code 1. */
export class CliError extends Error {}

export const HELP_FLAG: Flag = { type: 'boolean', short: 'h', description: 'print this help and exit' };
