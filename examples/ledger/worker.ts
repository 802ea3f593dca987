import { runWorkerProcess } from '../../workers/index.ts';
import { ledger } from './app.ts';

// The ledger's worker process (`npm run start:worker`).
await runWorkerProcess(ledger);
