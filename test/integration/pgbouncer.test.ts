import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, routeThroughPgbouncer, type TestContext } from '../helpers/context.ts';
import { awaitTerminal, submit } from '../helpers/submit.ts';
import { type PrivatePgbouncer, pgbouncerClients, startPgbouncer } from '../helpers/pgbouncer.ts';
import { adminQuery, TEST_PG_URL } from '../helpers/postgres.ts';
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

describe('many clients on 3 server connections', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('runs 200 concurrent submissions on two APIs and a worker on never more than 3 Postgres backends, shared by more clients', async () => {
    const [a, b] = [await ctx.startApi(), await ctx.startApi()];
    await ctx.startWorker();
    const database = new URL(ctx.config.databaseUrl).pathname.slice(1);
    let most = 0;
    let clients = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await adminQuery<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [database]);
        most = Math.max(most, row!.n);
        clients = Math.max(clients, await pgbouncerClients(ctx.config.databaseUrl));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => submit(i % 2 ? a : b, '/v1/items', { name: 'item', quantity: i })),
    );
    expect(answers.map((r) => r.statusCode)).toEqual(Array(200).fill(202));
    const done = await Promise.all(answers.map((r, i) => awaitTerminal(i % 2 ? a : b, r.json().id)));
    sampling = false;
    await sampler;
    expect(done.map((r) => r.status)).toEqual(Array(200).fill('succeeded'));
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(3);
    // more clients (the pools of two APIs, a worker and the test) than server connections: they shared them
    expect(clients).toBeGreaterThan(3);
  });
});

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
    const body = { name: 'item', quantity: 5 };
    try {
      const squeezed = await submit(app, '/v1/items', body, { key: 'squeezed' });
      expectProblem(squeezed, 503, 'service-unavailable');
      expect(squeezed.headers['retry-after']).toBeDefined();
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
    expect(await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', 'squeezed').execute()).toEqual([]);

    const retried = await submit(app, '/v1/items', body, { key: 'squeezed' });
    expect(retried.statusCode, retried.body).toBe(202);
    const again = await submit(app, '/v1/items', body, { key: 'squeezed' });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', 'squeezed').execute()).toEqual([
      { id: retried.json().id },
    ]);
  });
});
