import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintRequest } from '../../src/idempotency/fingerprint.ts';
import { defineOperation } from '../../src/operations/operation.ts';
import { jobIdFor } from '../../src/queue/request-queue.ts';
import { fixture } from '../fixtures/app/app.ts';
import { createItem } from '../fixtures/app/items.create.ts';
import { adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';
import { requestRow, terminalRow } from '../helpers/requests.ts';
import { awaitTerminal, submit } from '../helpers/submit.ts';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { inspectQueue } from '../helpers/queue.ts';
import { waitUntil } from '../helpers/wait-until.ts';

// An API deployed ahead of its workers: the old worker does not know items-v2.create yet.
const createItemV2 = defineOperation({ ...createItem, name: 'items-v2.create', route: '/v1/items-v2' });

describe('a request whose operation the worker does not know', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let inspector: ReturnType<typeof inspectQueue>;
  beforeAll(async () => {
    ctx = await createTestContext({ MAX_ATTEMPTS: '2' }, { ...fixture, operations: [...fixture.operations, createItemV2] });
    app = await ctx.startApi();
    inspector = inspectQueue(ctx.config.queuePrefix);
  });
  afterAll(async () => {
    await inspector?.close();
    await ctx?.close();
  });

  it('of a name no worker runs is not failed: it waits, retried, without counting failures', async () => {
    const worker = await ctx.startWorker();
    const { id } = await ctx.db
      .insertInto('idemq.requests')
      .values({
        tenant_id: 'acme',
        idempotency_key: 'from-a-newer-api',
        fingerprint: fingerprintRequest('POST', '/v1/refunds', {}),
        operation: 'refunds.create',
        payload: '{}',
        retention_seconds: 60,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await inspector.queue.add(
      'process',
      { requestId: id },
      { jobId: jobIdFor(id), attempts: 1_000, backoff: { type: 'capped-exponential' } },
    );
    // retried, or (what must not happen) finished
    const job = await waitUntil('the job to be retried or finished', async () => {
      const j = await inspector.queue.getJob(jobIdFor(id));
      return j && (j.attemptsMade >= 3 || j.finishedOn) ? j : undefined;
    });
    const row = await requestRow(ctx, id);
    expect(row?.error).toBeNull();
    expect(['queued', 'processing']).toContain(row?.status);
    expect(job.finishedOn).toBeUndefined();
    expect(job.data.failures).toBeUndefined();
    await worker.close();
    await inspector.queue.remove(jobIdFor(id));
  });

  it('stays unfinished and is retried without counting failures, leaves its batch alone, and completes once a worker knows it', async () => {
    const port = await freePort();
    const old = await ctx.startWorker(
      { WORKER_METRICS_PORT: String(port) },
      { operations: ctx.app.operations.filter((op) => op.name !== 'items-v2.create') },
    );
    const [made, refused] = await Promise.all([
      submit(app, '/v1/items-v2', { name: 'item', quantity: 5 }),
      submit(app, '/v1/items', { name: 'item', quantity: 1, takeFrom: crypto.randomUUID() }),
    ]);
    const id: string = made.json().id;
    // the known operation of the same batch is run and stored once, as usual
    const refusal = await terminalRow(ctx, refused.json().id);
    expect(refusal.error).toMatchObject({ code: 'item_not_found' });

    // retried (BullMQ attempts) more often than MAX_ATTEMPTS, yet never failed and no failure counted
    const job = await waitUntil('the unknown operation to be retried', async () => {
      const j = await inspector.queue.getJob(jobIdFor(id));
      return j && j.attemptsMade >= 3 ? j : undefined;
    });
    expect(job.data.failures).toBeUndefined();
    const row = await requestRow(ctx, id);
    expect(['queued', 'processing']).toContain(row?.status);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: adminAuth })).text();
    const seen = Number(/idemq_worker_unknown_operation_total\{operation="items-v2.create"\} (\d+)/.exec(metrics)?.[1]);
    expect(seen).toBeGreaterThanOrEqual(3);
    // each of those runs (this request's and the earlier test's) is a retry of that cause, none of another
    const unknownRuns = [...metrics.matchAll(/^idemq_worker_unknown_operation_total\{[^}]*\} (\d+)$/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    expect(Number(/idemq_worker_retries_total\{cause="unknown_operation"\} (\d+)/.exec(metrics)?.[1])).toBe(unknownRuns);
    expect(metrics).not.toMatch(/idemq_worker_retries_total\{cause="(failure|transient)"\}/);

    await old.close();
    await ctx.startWorker();
    const done = await awaitTerminal(app, id);
    expect(done.status).toBe('succeeded');
    expect(done.result).toMatchObject({ quantity: 5 });
  });
});
