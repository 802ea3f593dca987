import { routeThroughPgbouncer } from '../helpers/context.ts';

// The contract, delivery and worker paths, each file's own tests, run again with every process
// (and ctx.db) reaching Postgres through a private pgbouncer in transaction pooling mode: 3 server
// connections for an API pool of 10, a worker's pool of 10 and the test's 5, so consecutive
// transactions of one client land on different server connections.
routeThroughPgbouncer({ poolSize: 3, maxClientConn: 100 });

await import('./submit-idempotency.test.ts');
await import('./concurrency.test.ts');
await import('./process-batch.test.ts');
await import('./job-processor.test.ts');
await import('./completion-delivery.test.ts');
await import('./outbox-relay.test.ts');
await import('./reconciler.test.ts');
await import('./expiry.test.ts');
await import('./key-ring.test.ts');
await import('./request-lease.test.ts');
await import('./forward-routes.test.ts');
