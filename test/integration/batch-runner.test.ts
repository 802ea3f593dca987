import Type from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineOperation } from '../../src/operations/operation.ts';
import { createBatchRunner } from '../../workers/batch-runner.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { requestRow } from '../helpers/requests.ts';

// An operation whose result Postgres's jsonb refuses (22P05) when asked to: only the completion statement fails.
const echo = defineOperation({
  name: 'notes.echo',
  route: '/v1/notes',
  summary: 'test only',
  input: Type.Object({ text: Type.String(), bad: Type.Boolean() }),
  async handle(_trx, _ctx, input) {
    return { text: input.bad ? `${input.text}\u0000` : input.text };
  },
});

describe('the batch runner when Postgres refuses one outcome of a batch', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx?.close());

  it('commits the others of the batch; only the request whose result was refused fails, and stays unfinished', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { id } = await ctx.db
        .insertInto('idemq.requests')
        .values({
          tenant_id: 'acme',
          idempotency_key: `echo-${i}`,
          fingerprint: 'x',
          operation: 'notes.echo',
          payload: JSON.stringify({ text: `note ${i}`, bad: i === 4 }),
          retention_seconds: 60,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(id);
    }
    const run = createBatchRunner(ctx.db, { maxConcurrentBatches: 1 });
    const results = await Promise.allSettled(ids.map((id) => run(id, echo)));
    expect(results.map((r) => r.status)).toEqual(ids.map((_, i) => (i === 4 ? 'rejected' : 'fulfilled')));
    expect((results[4] as PromiseRejectedResult).reason).toMatchObject({ code: '22P05' });
    for (const [i, id] of ids.entries()) {
      const row = await requestRow(ctx, id);
      if (i === 4) expect(row?.status).toBe('processing');
      else expect(row).toMatchObject({ status: 'succeeded', result: { text: `note ${i}` } });
    }
  });
});
