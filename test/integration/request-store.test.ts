import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchingStore } from '../../src/idempotency/request-store.ts';
import type { NewRequest } from '../../src/idempotency/request.repository.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { expectProblem } from '../helpers/problem.ts';

const request = (key: string, payload: unknown): NewRequest => ({
  tenantId: 'acme',
  key,
  fingerprint: `fp-${key}`,
  operation: 'items.create',
  payload,
  ttlSeconds: 60,
});

describe('the grouped key statements when Postgres refuses one row', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx?.close());

  it('records the other rows of an INSERT batch; only the refused row fails', async () => {
    const store = createBatchingStore(ctx.db, { maxBatchSize: 500, maxConcurrentBatches: 1 });
    const batch = Array.from({ length: 20 }, (_, i) => request(`split-${i}`, i === 7 ? { note: 'nul\u0000' } : { note: `ok ${i}` }));
    const results = await Promise.allSettled(batch.map((r) => store.insertIfAbsent(r)));
    expect(results.map((r) => r.status)).toEqual(batch.map((_, i) => (i === 7 ? 'rejected' : 'fulfilled')));
    const keys = await ctx.db.selectFrom('idemq.requests').select('idempotency_key').where('idempotency_key', 'like', 'split-%').execute();
    expect(keys.map((k) => k.idempotency_key).sort()).toEqual(
      batch
        .filter((_, i) => i !== 7)
        .map((r) => r.key)
        .sort(),
    );
  });

  it('answers the other lookups of a batch; only the refused one fails', async () => {
    const store = createBatchingStore(ctx.db, { maxBatchSize: 500, maxConcurrentBatches: 1 });
    await store.insertIfAbsent(request('found-0', {}));
    // a text parameter holding NUL is refused by Postgres (22021)
    const keys = ['found-0', 'nope-1', 'bad\u0000key', 'nope-3'];
    const results = await Promise.allSettled(keys.map((k) => store.findByKey('acme', k)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[0] as PromiseFulfilledResult<{ idempotency_key: string } | undefined>).value?.idempotency_key).toBe('found-0');
    expect((results[1] as PromiseFulfilledResult<unknown>).value).toBeUndefined();
  });
});

describe('a key write that fails for one request through HTTP', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
    // a failure Postgres raises for one row only, which no check in the API can foresee
    await sql`create function refuse_poison() returns trigger language plpgsql as $$
      begin if new.idempotency_key = 'poison' then raise exception 'refused for the test'; end if; return new; end $$`.execute(ctx.db);
    await sql`create trigger refuse_poison before insert on idemq.requests for each row execute function refuse_poison()`.execute(ctx.db);
  });
  afterAll(() => ctx?.close());

  it('answers 503 + Retry-After to that one, never 500, and records the requests that share its batch', async () => {
    const answers = await Promise.all([
      ...Array.from({ length: 50 }, (_, i) => submit(app, '/v1/items', { name: 'item', quantity: i })),
      submit(app, '/v1/items', { name: 'item', quantity: 1 }, { key: 'poison' }),
      ...Array.from({ length: 50 }, (_, i) => submit(app, '/v1/items', { name: 'item', quantity: i })),
    ]);
    const poisoned = answers.splice(50, 1)[0]!;
    expect(answers.map((r) => r.statusCode)).toEqual(Array(100).fill(202));
    expectProblem(poisoned, 503, 'service-unavailable');
    expect(poisoned.headers['retry-after']).toBeDefined();
    const { n } = await ctx.db
      .selectFrom('idemq.requests')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(n)).toBe(100);
  });
});
