import type { Command } from './command.ts';

/** The full help of one subcommand: what it does, its flags, the environment that matters, examples. */
export function commandHelp(command: Command): string {
  const flags = Object.entries(command.flags).map(([name, flag]) => {
    const short = flag.short ? `-${flag.short}, ` : '';
    const value = flag.type === 'string' ? ` ${flag.value ?? '<value>'}` : '';
    return [`${short}--${name}${value}${flag.multiple ? ' (repeatable)' : ''}`, flag.description] as const;
  });
  return [
    `idemq ${command.name}: ${command.summary}`,
    '',
    `Usage: ${command.usage}`,
    '',
    command.description,
    '',
    'Flags:',
    ...columns(flags),
    ...(command.environment.length
      ? ['', 'Environment (docs/configuration.md lists every variable):', ...columns(command.environment)]
      : []),
    '',
    'Examples:',
    ...command.examples.map((e) => `  ${e}`),
  ].join('\n');
}

/** `idemq --help`: every subcommand with its one line. */
export function mainHelp(commands: readonly Command[]): string {
  return [
    'idemq: an Idempotency-Key service. Durable keys, one job per key, exactly-once effects,',
    'completion pushed to the caller; for operations of your own app, or as a gateway in front of your service.',
    '',
    'Usage: idemq <command> [flags]',
    '',
    'Commands:',
    ...columns(commands.map((c) => [c.name, c.summary] as const)),
    '',
    'Flags:',
    '  -h, --help      this list; after a command (idemq start --help): what it does, its flags,',
    '                  the environment that matters to it, examples',
    '  -v, --version   the version of idemq',
    '',
    'The processes read their settings from the environment (DATABASE_URL, REDIS_URL, PORT, ...):',
    'docs/configuration.md lists them all. `idemq <command> --help` says which matter to it.',
    '',
    'Examples:',
    '  idemq init my-app                                   a new project of your own',
    '  idemq migrate --app ./app.ts && idemq start --app ./app.ts',
    '  idemq start --routes ./routes.json                  a gateway in front of your service, no app needed',
  ].join('\n');
}

function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`);
}
