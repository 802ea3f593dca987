import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { createRequestReader } from '../../src/idempotency/request-reader.ts';
import { insertRequestsIfAbsent } from '../../src/idempotency/request.repository.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';

describe('the batched request reader', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  it('answers hundreds of concurrent reads with each reader its own tenant row, in a few statements', async () => {
    const rows = await insertRequestsIfAbsent(
      ctx.db,
      Array.from({ length: 200 }, (_, i) => ({
        tenantId: i % 2 ? 'acme' : 'globex',
        key: `reader-${i}`,
        fingerprint: 'f',
        operation: 'items.create',
        payload: { n: i },
        ttlSeconds: 60,
      })),
    );
    let statements = 0;
    const pool = new pg.Pool({ connectionString: ctx.config.databaseUrl, max: 2 });
    // the test database is dropped (WITH FORCE) at teardown: an idle client's termination is expected
    pool.on('error', () => undefined);
    const counted = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: () => void statements++ });
    onTestFinished(() => counted.destroy());
    const read = createRequestReader(counted, { maxConcurrentBatches: 1, maxBatchSize: 64 });
    const [own, others, upper, malformed] = await Promise.all([
      Promise.all(rows.map((r) => read(r.tenant_id, r.id))),
      Promise.all(rows.map((r) => read(r.tenant_id === 'acme' ? 'globex' : 'acme', r.id))),
      read(rows[0]!.tenant_id, rows[0]!.id.toUpperCase()),
      read('acme', 'not-a-uuid'),
    ]);
    expect(own.map((r) => r?.id)).toEqual(rows.map((r) => r.id));
    expect(own.map((r) => (r?.payload as { n: number }).n)).toEqual(rows.map((r) => (r.payload as { n: number }).n));
    expect(others.every((r) => r === undefined)).toBe(true);
    expect(upper?.id).toBe(rows[0]!.id);
    expect(malformed).toBeUndefined();
    // 401 reads in batches of at most 64 ids: 7 statements, not 401
    expect(statements).toBeLessThanOrEqual(8);
  });
});
