import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, routeThroughPgbouncer, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/ledger.ts';
import { type PrivatePgbouncer, startPgbouncer } from '../helpers/pgbouncer.ts';
import { TEST_PG_URL } from '../helpers/postgres.ts';
import { expectProblem } from '../helpers/problem.ts';

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

describe('a PgBouncer with no server connection to spare', () => {
  let bouncer: PrivatePgbouncer;
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    // one server connection; a client waits for it at most 1 s
    bouncer = await startPgbouncer(TEST_PG_URL, { poolSize: 1, queryWaitTimeoutS: 1 });
    ctx = await createTestContext((database) => ({ DATABASE_URL: bouncer.urlOf(database.url) }));
    app = await ctx.startApi();
  });
  afterAll(async () => {
    await ctx?.close();
    await bouncer?.stop();
  });

  it('answers 503 with Retry-After, records nothing, and the retry with the same key is recorded once', async () => {
    // another client's open transaction holds the only server connection
    const holder = new pg.Client({ connectionString: ctx.config.databaseUrl });
    await holder.connect();
    await holder.query('begin');
    await holder.query('select 1');
    const body = { currency: 'USD', openingBalance: 5 };
    try {
      const squeezed = await submit(app, '/v1/accounts', body, { key: 'squeezed' });
      expectProblem(squeezed, 503, 'service-unavailable');
      expect(squeezed.headers['retry-after']).toBeDefined();
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
    expect(await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', 'squeezed').execute()).toEqual([]);

    const retried = await submit(app, '/v1/accounts', body, { key: 'squeezed' });
    expect(retried.statusCode, retried.body).toBe(202);
    const again = await submit(app, '/v1/accounts', body, { key: 'squeezed' });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', 'squeezed').execute()).toEqual([{ id: retried.json().id }]);
  });
});
