import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../../src/redis.ts';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintRequest } from '../../src/idempotency/fingerprint.ts';
import { createRequestQueues, enqueueRequests, jobIdFor, type RequestJobData, type RequestQueues } from '../../src/queue/request-queue.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { connectTestRedis } from '../helpers/redis-target.ts';
import { fixtureDb, insertItem, itemsOf } from '../helpers/items.ts';
import { terminalRow } from '../helpers/requests.ts';
import { submit } from '../helpers/submit.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { blockedWorkerBackends, holdRowLock, terminateBackend } from '../helpers/row-lock.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const MAX_ATTEMPTS = 3;

describe('the job processor', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let redis: RedisClient;
  let queue: RequestQueues;

  beforeAll(async () => {
    ctx = await createTestContext({ MAX_ATTEMPTS: String(MAX_ATTEMPTS) });
    app = await ctx.startApi();
    await ctx.startWorker();
    redis = connectTestRedis(ctx.config);
    queue = createRequestQueues(redis, ctx.config);
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await ctx.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  it('ends a request that keeps failing for a non-business reason as processing_failed after MAX_ATTEMPTS, and replays say so', async () => {
    const body = { name: 'item', quantity: 5, takeFrom: await insertItem(ctx, 100) };
    const key = 'poisoned-payload';
    const { id } = await ctx.db
      .insertInto('idemq.requests')
      .values({
        tenant_id: 'acme',
        idempotency_key: key,
        fingerprint: fingerprintRequest('POST', '/v1/items', body),
        operation: 'items.create',
        payload: JSON.stringify(body),
        retention_seconds: 3_600,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // a request whose effects Postgres refuses on every run (23505: an item row for it exists), as a bug or a bad migration would leave it
    await fixtureDb(ctx).insertInto('fixture.items').values({ tenant_id: 'acme', request_id: id, name: 'planted', quantity: 5 }).execute();
    await enqueueRequests(queue, [{ id, operation: 'items.create' }]);

    const row = await terminalRow(ctx, id);
    expect(row.status).toBe('failed');
    expect(row.error).toEqual({
      code: 'processing_failed',
      message: `The operation failed ${MAX_ATTEMPTS} times and will not be retried.`,
    });
    const job = await queue.getJob(id);
    // two attempts failed and were retried; the third stored the outcome and completed the job
    expect(job?.attemptsMade).toBe(MAX_ATTEMPTS);
    expect(job?.returnvalue).toBe('failed');
    expect(await queue.of(id).getJobState(jobIdFor(id))).toBe('completed');

    const replay = await submit(app, '/v1/items', body, { key });
    expect(replay.statusCode, replay.body).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toMatchObject({ id, status: 'failed', error: { code: 'processing_failed' } });
  });

  it('ends a request whose stored payload no longer fits the schema as invalid_payload on its first attempt, and replays say so', async () => {
    const body = { name: 'item', quantity: 5, takeFrom: crypto.randomUUID() };
    const key = 'stale-payload';
    // stored under an older schema (or by other means): an id that is no uuid
    const { id } = await ctx.db
      .insertInto('idemq.requests')
      .values({
        tenant_id: 'acme',
        idempotency_key: key,
        fingerprint: fingerprintRequest('POST', '/v1/items', body),
        operation: 'items.create',
        payload: JSON.stringify({ ...body, takeFrom: 'not-a-uuid' }),
        retention_seconds: 3_600,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // an old job, without the operation's name: the worker reads it from the request
    await queue.of(id).add('process', { requestId: id }, { jobId: jobIdFor(id) });

    const row = await terminalRow(ctx, id);
    expect(row.status).toBe('failed');
    expect(row.error).toMatchObject({ code: 'invalid_payload', message: expect.stringContaining('/takeFrom') });
    const job = await queue.getJob(id);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.returnvalue).toBe('completed');
    expect(job?.data).not.toHaveProperty('failures');
    const replay = await submit(app, '/v1/items', body, { key });
    expect(replay.json()).toMatchObject({ id, status: 'failed', error: { code: 'invalid_payload' } });
  });

  it('does not count transient failures (a terminated backend, SQLSTATE 57P01) against MAX_ATTEMPTS', async () => {
    const a = await insertItem(ctx, 1_000);
    // one non-transient failure of the first attempt, from a trigger on the item insert that
    // fires twice: the worker runs a failed batch call once more, request by request, in the same attempt
    await sql`create sequence fail_once_seq`.execute(ctx.db);
    await sql`
      create function fail_once() returns trigger language plpgsql as $$
      begin
        if nextval('fail_once_seq') <= 2 then raise exception 'injected failure' using errcode = 'P0001'; end if;
        return new;
      end $$`.execute(ctx.db);
    await sql`create trigger fail_once before insert on fixture.items for each row execute function fail_once()`.execute(ctx.db);
    try {
      const lock = await holdRowLock(ctx.config.databaseUrl, 'fixture.items', a);
      const res = await submit(app, '/v1/items', { name: 'item', quantity: 70, takeFrom: a });
      const { id } = res.json();
      // more transient failures than MAX_ATTEMPTS: each time the worker waits on the lock, its backend is ended
      const ended = new Set<number>();
      for (let i = 0; i < MAX_ATTEMPTS + 1; i++) {
        const [blocked] = await waitUntil('the worker to wait on the item', async () => {
          // a terminated backend can still be listed for a moment: ending it again would end no attempt
          const found = (await blockedWorkerBackends(ctx.config.databaseUrl)).filter((b) => !ended.has(b.backendPid));
          return found.length > 0 && found;
        });
        ended.add(blocked!.backendPid);
        await terminateBackend(ctx.config.databaseUrl, blocked!.backendPid);
      }
      await lock.release();

      const row = await terminalRow(ctx, id, 30_000);
      expect(row.status, JSON.stringify(row.error)).toBe('succeeded');
      expect(await itemsOf(ctx, id)).toBe(1);
      const job = await queue.getJob(id);
      // four transient failures and one injected one were retried; only the injected one was counted
      expect(job?.attemptsMade).toBe(MAX_ATTEMPTS + 3);
      expect(job?.data).toMatchObject({ failures: 1 });
    } finally {
      await sql`drop trigger fail_once on fixture.items`.execute(ctx.db);
    }
  });
});
