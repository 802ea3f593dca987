import { resolve } from 'node:path';
import { CliError, type Command, HELP_FLAG } from '../command.ts';
import { scaffoldProject } from '../scaffold.ts';

export const init: Command = {
  name: 'init',
  summary: 'scaffolds a project of your own: one operation, its migration, a test, a routes file',
  usage: 'idemq init [dir] [--name <name>] [--dependency <spec>]',
  description: [
    'Writes a new project into dir (default: the current directory; it must be new or empty): a',
    'package.json that depends on idemq, one operation (notes.create on POST /v1/notes) with its table',
    'and migration in a schema of its own, a vitest test that runs it through the real service, an',
    'example forward routes file and a short README. Then `npm install && npm test` in it.',
  ].join('\n'),
  flags: {
    name: {
      type: 'string',
      value: '<name>',
      description: "the project's npm name (default: the directory's name); its schema is derived from it",
    },
    dependency: {
      type: 'string',
      value: '<spec>',
      description: 'what package.json names for idemq (default: ^ this version; a tarball path works too)',
    },
    help: HELP_FLAG,
  },
  maxPositionals: 1,
  environment: [],
  examples: ['idemq init my-app', 'idemq init . --name orders-service'],
  async run({ positionals, values }) {
    const dir = resolve(positionals[0] ?? '.');
    const name = typeof values.name === 'string' ? values.name : undefined;
    if (name !== undefined && !/^(@[a-z0-9._-]+\/)?[a-z0-9][a-z0-9._-]*$/.test(name))
      throw new CliError('--name: an npm name is lowercase letters, digits, "-", "." and "_".');
    let made: ReturnType<typeof scaffoldProject>;
    try {
      made = scaffoldProject(dir, { name, idemqSpec: typeof values.dependency === 'string' ? values.dependency : undefined });
    } catch (err) {
      throw new CliError((err as Error).message, { cause: err });
    }
    console.log(`Created ${made.name} in ${dir} (its tables in schema ${made.schema}):`);
    for (const file of made.files) console.log(`  ${file}`);
    console.log(
      [
        '',
        'Next:',
        `  cd ${positionals[0] ?? '.'}`,
        '  npm install',
        '  npm test        # the operation through the real service (local Postgres and Redis)',
        '  npm run dev     # migrate, then the API on :3000 and a worker',
      ].join('\n'),
    );
    return 0;
  },
};
