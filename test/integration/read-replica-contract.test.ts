import { routeReadsToReplica } from '../helpers/context.ts';

// The status reads of the contract (GET, long-poll, Prefer: wait, WebSocket and SSE pushes), each
// file's own tests, run again with every context's database on a private primary and the API
// reading request states on its streaming standby (DATABASE_READ_URL): read-replica.test.ts has
// the replica lagging, stopped and counted; here it keeps up, and nothing a client sees changes.
routeReadsToReplica();

await import('./submit-idempotency.test.ts');
await import('./requests-routes.test.ts');
await import('./completion-delivery.test.ts');
await import('./ws-session.test.ts');
await import('./ws-fanout.test.ts');
await import('./held-limits.test.ts');
await import('./status-history.test.ts');
