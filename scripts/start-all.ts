import { passOnDefault } from '../bin/process-env.ts';
import { superviseProcesses } from '../bin/supervise.ts';

// `npm start`: the ledger demo's API and one worker in one terminal, for a first try (what
// `idemq start --app examples/ledger/app.ts` does). In production run them as separate processes
// (Procfile), each scaled on its own. No balancer sits in front of this API: its drain before
// closing (SHUTDOWN_DRAIN_MS) would only make Ctrl-C slow, unless asked for.
passOnDefault('SHUTDOWN_DRAIN_MS', '0');
superviseProcesses([['examples/ledger/api.ts'], ['examples/ledger/worker.ts']]);
