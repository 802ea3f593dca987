import { runApiProcess } from './run-api.ts';

// The core's API process, with no operation of an app: status, events and documents, and the
// forward routes of FORWARD_ROUTES_FILE if set. An app's entry point passes its own (examples/ledger/api.ts).
await runApiProcess({ operations: [] });
