import { CliError, type Command, HELP_FLAG } from '../command.ts';

export const init: Command = {
  name: 'init',
  summary: 'scaffolds a project of your own: one operation, its migration, a test, a routes file',
  usage: 'idemq init [dir]',
  description: 'Not yet.',
  flags: { help: HELP_FLAG },
  maxPositionals: 1,
  environment: [],
  examples: ['idemq init my-app'],
  async run() {
    throw new CliError('not yet');
  },
};
