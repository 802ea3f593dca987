import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccept } from '../../src/idempotency/accept.ts';
import { createReplayCache } from '../../src/idempotency/replay-cache.ts';
import { createDirectStore } from '../../src/idempotency/request-store.ts';
import { createSubmit, type SubmitDeps, type SubmitInput, type SubmittedJob } from '../../src/idempotency/submit.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';

const WINDOW_MS = 300;
const operation = { name: 'items.create', route: '/v1/items' };

/** A submission under a fresh key unless one is given. */
const input = (overrides: Partial<SubmitInput> = {}): SubmitInput => ({
  tenantId: 'acme',
  idempotencyKey: `submit-${randomUUID()}`,
  operation,
  payload: { currency: 'USD', openingBalance: 1 },
  ...overrides,
});

describe('submit', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx?.close());

  /** submit over the real store, with an enqueue that records its jobs (or fails) and a log that records warnings */
  function harness(enqueue: SubmitDeps['enqueue'] = async () => {}) {
    const jobs: SubmittedJob[] = [];
    const warnings: { fields: object; message: string }[] = [];
    const submit = createSubmit({
      accept: createAccept(createDirectStore(ctx.db), createReplayCache({ maxBytes: 1_000_000 })),
      enqueue: async (batch) => {
        jobs.push(...batch);
        await enqueue(batch);
      },
      ttlSeconds: 60,
      reenqueueAfterMs: WINDOW_MS,
    });
    const log = { warn: (fields: object, message: string) => void warnings.push({ fields, message }) };
    return { jobs, warnings, submit: (i: SubmitInput) => submit(i, log) };
  }

  const ageRecord = (id: string) =>
    sql`update idemq.requests set created_at = now() - interval '1 minute' where id = ${id}`.execute(ctx.db);

  it('records a new key and enqueues its job once, timed from acceptance', async () => {
    const { jobs, submit } = harness();
    const before = Date.now();
    const outcome = await submit(input());
    expect(outcome.kind).toBe('created');
    if (outcome.kind !== 'created') return;
    expect(jobs).toEqual([{ id: outcome.request.id, operation: 'items.create', acceptedAt: expect.any(Number) }]);
    expect(jobs[0]!.acceptedAt).toBeGreaterThanOrEqual(before);
  });

  it('enqueues nothing for a replay of a request queued for a short while, or of a finished one', async () => {
    const { jobs, submit } = harness();
    const key = `submit-${randomUUID()}`;
    const first = await submit(input({ idempotencyKey: key }));
    expect((await submit(input({ idempotencyKey: key }))).kind).toBe('replayed');
    expect(jobs).toHaveLength(1);
    if (first.kind !== 'created') throw new Error('expected created');
    await ageRecord(first.request.id);
    await sql`update idemq.requests set status = 'succeeded', result = '{}', expires_at = now() + interval '1 hour' where id = ${first.request.id}`.execute(
      ctx.db,
    );
    expect((await submit(input({ idempotencyKey: key }))).kind).toBe('replayed');
    expect(jobs).toHaveLength(1);
  });

  it('enqueues a stale queued request again once per window, however many replays come', async () => {
    const { jobs, submit } = harness();
    const key = `submit-${randomUUID()}`;
    const first = await submit(input({ idempotencyKey: key }));
    if (first.kind !== 'created') throw new Error('expected created');
    await ageRecord(first.request.id);
    const replays = await Promise.all(Array.from({ length: 10 }, () => submit(input({ idempotencyKey: key }))));
    expect(replays.every((o) => o.kind === 'replayed')).toBe(true);
    expect((await submit(input({ idempotencyKey: key }))).kind).toBe('replayed');
    const again = { id: first.request.id, operation: 'items.create' };
    expect(jobs.slice(1)).toEqual([again]);
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 100));
    await submit(input({ idempotencyKey: key }));
    await submit(input({ idempotencyKey: key }));
    expect(jobs.slice(1)).toEqual([again, again]);
  });

  it('answers another body under a used key as a mismatch and enqueues nothing', async () => {
    const { jobs, submit } = harness();
    const key = `submit-${randomUUID()}`;
    const first = await submit(input({ idempotencyKey: key }));
    if (first.kind !== 'created') throw new Error('expected created');
    await ageRecord(first.request.id);
    const other = await submit(input({ idempotencyKey: key, payload: { currency: 'EUR', openingBalance: 1 } }));
    expect(other).toMatchObject({ kind: 'mismatch', request: { id: first.request.id } });
    const otherRoute = await submit(input({ idempotencyKey: key, operation: { ...operation, route: '/v1/other' } }));
    expect(otherRoute.kind).toBe('mismatch');
    expect(jobs).toHaveLength(1);
  });

  it('still answers created when the enqueue fails, and logs it for the reconciler', async () => {
    const { jobs, warnings, submit } = harness(async () => {
      throw new Error('redis away');
    });
    const outcome = await submit(input());
    expect(outcome.kind).toBe('created');
    if (outcome.kind !== 'created') return;
    expect(jobs).toHaveLength(1);
    expect(warnings).toEqual([
      {
        fields: { err: expect.objectContaining({ message: 'redis away' }), requestId: outcome.request.id },
        message: 'enqueue failed; the reconciler will enqueue the request',
      },
    ]);
    const row = await ctx.db.selectFrom('idemq.requests').select('status').where('id', '=', outcome.request.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('queued');
  });

  it('refuses a missing or malformed key before anything is recorded', async () => {
    const { jobs, submit } = harness();
    expect(await submit(input({ idempotencyKey: undefined }))).toMatchObject({ kind: 'invalid-key', reason: 'missing' });
    expect(await submit(input({ idempotencyKey: ['a', 'b'] }))).toMatchObject({ kind: 'invalid-key', reason: 'invalid' });
    expect(await submit(input({ idempotencyKey: 'a,b' }))).toMatchObject({ kind: 'invalid-key', reason: 'invalid' });
    expect(jobs).toHaveLength(0);
  });
});
