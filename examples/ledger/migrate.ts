import { runMigrateProcess } from '../../src/index.ts';
import { ledger } from './app.ts';

// `npm run migrate`: the core's migrations, then the ledger's. Exits non-zero on any failure.
await runMigrateProcess(ledger);
