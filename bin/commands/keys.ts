import { USAGE } from '../../src/keys/keys-command.ts';
import { type Command, CliError, HELP_FLAG, UsageError as CliUsageError } from '../command.ts';

const IDEMQ_USAGE = USAGE.replaceAll('npm run keys --', 'idemq keys').replace(/^Usage:\n/, '');
const SUBCOMMANDS = ['create', 'list', 'revoke'];

export const keys: Command = {
  name: 'keys',
  summary: 'API keys stored in Postgres: create (prints the secret once), list, revoke',
  usage: 'idemq keys create|list|revoke ...',
  description: [
    IDEMQ_USAGE,
    'Every API accepts a new key, and refuses a revoked one, within API_KEYS_REFRESH_MS, without a restart.',
    'Exit codes: 0 done, 1 the command failed (no such key, Postgres away), 2 the command line is wrong.',
  ].join('\n'),
  flags: {
    tenant: { type: 'string', value: '<tenant>', description: "create: the key's tenant; list: only that tenant's keys" },
    scope: { type: 'string', multiple: true, value: 'read|write', description: 'create: what the key may do (default both)' },
    json: { type: 'boolean', description: 'list: as JSON' },
    help: HELP_FLAG,
  },
  maxPositionals: 2,
  ownParsing: true,
  environment: [['DATABASE_URL', 'where the keys are stored (a migrated database)']],
  examples: ['idemq keys create --tenant acme', 'idemq keys list --json', 'idemq keys revoke k3x9q2m7p1ab'],
  async run({ argv }) {
    // a wrong command line is said before any connection is tried
    if (!SUBCOMMANDS.includes(argv[0] ?? ''))
      throw new CliUsageError(argv[0] === undefined ? 'give a command: create, list or revoke.' : 'the command is create, list or revoke.');
    const { assertMigrated } = await import('../../src/db/check-migrations.ts');
    const { createDb } = await import('../../src/db/create-db.ts');
    const { CommandError, EXIT, runKeysCommand, UsageError } = await import('../../src/keys/keys-command.ts');
    const { loadConfigOrExit } = await import('../../src/load-config-or-exit.ts');
    const config = loadConfigOrExit({ servesApi: false });
    const { db } = createDb({ connectionString: config.databaseUrl, poolSize: 1, applicationName: 'idemq-keys' });
    try {
      await assertMigrated(db);
      await runKeysCommand(db, argv, { out: (line) => console.log(line), info: (line) => console.error(line) });
      return EXIT.ok;
    } catch (err) {
      if (err instanceof UsageError) throw new CliUsageError(err.message.replaceAll('npm run keys --', 'idemq keys'), { cause: err });
      // pg puts row values in `detail`, never in `message`: the message alone is safe to print
      throw new CliError(err instanceof CommandError ? err.message : `failed: ${(err as Error).message}`, { cause: err });
    } finally {
      await db.destroy();
    }
  },
};
