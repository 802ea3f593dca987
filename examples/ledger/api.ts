import { runApiProcess } from '../../src/index.ts';
import { ledger } from './app.ts';

// The ledger's API process (`npm run start:api`).
await runApiProcess(ledger);
