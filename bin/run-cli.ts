import { parseArgs } from 'node:util';
import { CliError, type Command, type Invocation, UsageError } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { commandHelp, mainHelp } from './help-text.ts';
import { ownPackage } from './own-package.ts';

/** Exit codes: 0 done, 1 the command failed, 2 the command line is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Short words only: anything that could be a secret is never printed back. */
const safe = (arg: string) => (/^[A-Za-z0-9._-]{1,30}$/.test(arg) ? `"${arg}"` : 'given');

/** Parses a subcommand's arguments against its flags; a wrong one is a UsageError. */
export function parseInvocation(command: Command, argv: string[]): Invocation {
  if (command.ownParsing) return { values: { help: argv.includes('--help') || argv.includes('-h') }, positionals: [], argv };
  const options = Object.fromEntries(
    Object.entries(command.flags).map(([name, f]) => [
      name,
      { type: f.type, multiple: f.multiple === true, ...(f.short ? { short: f.short } : {}) },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (!values.help && positionals.length > (command.maxPositionals ?? 0)) {
      throw new UsageError(`unexpected argument ${safe(positionals[command.maxPositionals ?? 0]!)}.`);
    }
    return { values, positionals, argv };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // parseArgs names flags, never their values
    throw new UsageError((err as Error).message, { cause: err });
  }
}

/**
 * Runs `idemq <argv>`: resolves to the exit code, or to undefined when the command leaves a
 * process running (api, worker, start), which then exits on its own.
 */
export async function runCli(argv: string[], io = { out: console.log, err: console.error }): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.out(topic ? commandHelp(topic) : mainHelp(COMMANDS));
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.out(ownPackage().version);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`idemq: unknown command ${safe(name)}.\n\n${mainHelp(COMMANDS)}`);
    return EXIT.usage;
  }
  let invocation: Invocation;
  try {
    invocation = parseInvocation(command, rest);
  } catch (err) {
    io.err(`idemq ${command.name}: ${(err as Error).message}\n\nUsage: ${command.usage}\n(idemq ${command.name} --help says more)`);
    return EXIT.usage;
  }
  if (invocation.values.help) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  try {
    return await command.run(invocation);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`idemq ${command.name}: ${err.message}\n\nUsage: ${command.usage}\n(idemq ${command.name} --help says more)`);
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      io.err(`idemq ${command.name}: ${err.message}`);
      return EXIT.failed;
    }
    throw err;
  }
}
