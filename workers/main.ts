import { runWorkerProcess } from './run-worker.ts';

// The core's worker process, with no operation of an app: it runs the forward routes of
// FORWARD_ROUTES_FILE if set, relays, reconciles and expires; an app's entry point passes its
// operations (examples/ledger/worker.ts).
await runWorkerProcess({ operations: [] });
