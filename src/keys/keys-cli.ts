import { assertMigrated } from '../db/check-migrations.ts';
import { createDb } from '../db/create-db.ts';
import { loadConfigOrExit } from '../load-config-or-exit.ts';
import { CommandError, EXIT, runKeysCommand, UsageError, USAGE } from './keys-command.ts';

// CLI: `npm run keys -- create|list|revoke …` against DATABASE_URL. One readable line on failure,
// with the exit codes of EXIT; a secret is printed only by create, on stdout, once.
const config = loadConfigOrExit({ servesApi: false });
const argv = process.argv.slice(2);
if (argv.length === 0 || argv[0] === 'help' || argv.includes('--help')) {
  console.log(USAGE);
  process.exit(argv.length === 0 ? EXIT.usage : EXIT.ok);
}
const { db } = createDb({ connectionString: config.databaseUrl, poolSize: 1, applicationName: 'idemq-keys' });
try {
  await assertMigrated(db);
  await runKeysCommand(db, argv, { out: (line) => console.log(line), info: (line) => console.error(line) });
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`keys: ${err.message}\n\n${USAGE}`);
    process.exitCode = EXIT.usage;
  } else {
    // pg puts row values in `detail`, never in `message`: the message alone is safe to print
    console.error(`keys: ${err instanceof CommandError ? err.message : `failed: ${(err as Error).message}`}`);
    process.exitCode = EXIT.failed;
  }
} finally {
  await db.destroy();
}
