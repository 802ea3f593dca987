import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintRequest } from '../../src/idempotency/fingerprint.ts';
import { jobIdFor } from '../../src/queue/request-queue.ts';
import { warnOfUnknownOperations } from '../../workers/unknown-operations-check.ts';
import { adminAuth, auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { inspectQueue } from '../helpers/queue.ts';
import { requestRow } from '../helpers/requests.ts';
import { waitUntil } from '../helpers/wait-until.ts';

// A forward route removed from the routes file while its requests were queued: no worker runs
// `refunds.forward` any more, so they would wait for ever (and keep their keys for ever).
const GONE = 'refunds.forward';

let ctx: TestContext;
let api: FastifyInstance;
let admin: FastifyInstance;
const logged: Record<string, any>[] = [];
const audits = (action: string) => logged.filter((l) => l.audit?.action === action).map((l) => l.audit);

beforeAll(async () => {
  ctx = await createTestContext();
  api = await ctx.startApi();
  admin = await ctx.startAdmin(api, { logger: pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) }) });
});
afterAll(() => ctx.close());

async function stranded(key: string, tenant = 'acme'): Promise<string> {
  const { id } = await ctx.db
    .insertInto('idemq.requests')
    .values({
      tenant_id: tenant,
      idempotency_key: key,
      fingerprint: fingerprintRequest('POST', '/v1/refunds', {}),
      operation: GONE,
      payload: '{}',
      retention_seconds: 60,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}
const fail = (id: string, reason: unknown, headers: Record<string, string> = adminAuth) =>
  admin.inject({
    method: 'POST',
    url: `/api/requests/${id}/fail`,
    headers: { ...headers, 'content-type': 'application/json' },
    payload: JSON.stringify({ reason }),
  });

describe('failing an unfinished request (admin API)', () => {
  it('fails a stranded request with failed_by_operator and the reason: history, event, expiry, audit; its client sees it', async () => {
    const id = await stranded('stranded-1');
    const res = await fail(id, 'route /v1/refunds removed on 7 Dec');
    expect(res.statusCode, res.body).toBe(200);
    const { request } = res.json();
    expect(request).toMatchObject({
      id,
      status: 'failed',
      error: { code: 'failed_by_operator', message: 'route /v1/refunds removed on 7 Dec' },
    });
    expect(request.history.at(-1)).toMatchObject({ status: 'failed', byOperator: true, reason: 'route /v1/refunds removed on 7 Dec' });
    const row = await requestRow(ctx, id);
    // its key is released after its retention, like any finished request's
    expect(row?.expires_at?.getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(row?.expires_at?.getTime()).toBeLessThan(Date.now() + 90_000);
    // its event went out through the outbox (pushes, long-polls, webhooks)
    const events = await sql<{ payload: unknown }>`select payload from idemq.outbox where request_id = ${id}`.execute(ctx.db);
    expect(events.rows.map((r) => r.payload)).toContainEqual(
      expect.objectContaining({ requestId: id, status: 'failed', version: request.version }),
    );
    const status = await api.inject({ url: `/v1/requests/${id}`, headers: auth() });
    expect(status.json()).toMatchObject({ status: 'failed', error: { code: 'failed_by_operator' } });
    expect(audits('fail')).toContainEqual({
      action: 'fail',
      who: 'token',
      requestId: id,
      tenantId: 'acme',
      reason: 'route /v1/refunds removed on 7 Dec',
    });
    // finished now: its key can be deleted at once too
    expect((await admin.inject({ method: 'DELETE', url: `/api/requests/${id}`, headers: adminAuth })).statusCode).toBe(200);
  });

  it('refuses a finished request (409), a request a worker is running (409), an unknown id (404), and no reason (400)', async () => {
    const done = await stranded('stranded-2');
    expect((await fail(done, 'first')).statusCode).toBe(200);
    const again = await fail(done, 'second');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ type: 'https://idemq.dev/problems/request-not-failable' });
    expect((await requestRow(ctx, done))?.error).toMatchObject({ message: 'first' });

    const running = await stranded('stranded-3');
    await sql`update idemq.requests set status = 'processing', lease_until = now() + interval '1 minute' where id = ${running}`.execute(
      ctx.db,
    );
    const refused = await fail(running, 'too early');
    expect(refused.statusCode).toBe(409);
    expect(refused.json().detail).toMatch(/lease/);
    expect((await requestRow(ctx, running))?.status).toBe('processing');
    // its lease over (the worker died): it can be failed
    await sql`update idemq.requests set lease_until = now() - interval '1 second' where id = ${running}`.execute(ctx.db);
    expect((await fail(running, 'worker gone')).statusCode).toBe(200);

    const unknown = randomUUID();
    expect((await fail(unknown, 'nothing')).statusCode).toBe(404);
    expect(audits('fail')).toContainEqual(expect.objectContaining({ requestId: unknown, found: false }));
    for (const reason of ['', '   ', 'x'.repeat(501), 'removed\u0000'])
      expect((await fail(await stranded(`bad-${randomUUID()}`), reason)).statusCode, String(reason)).toBe(400);
    expect(audits('fail-refused').length).toBeGreaterThanOrEqual(2);
  });

  it('is refused from another origin (403)', async () => {
    const id = await stranded('stranded-4');
    const res = await fail(id, 'csrf', { ...adminAuth, origin: 'http://evil.example' });
    expect(res.statusCode).toBe(403);
    expect((await requestRow(ctx, id))?.status).toBe('queued');
  });
});

describe('a worker and the stranded requests', () => {
  it('warns at start about unfinished requests of operations it does not run', async () => {
    await stranded(`warn-${randomUUID()}`);
    const lines: Record<string, any>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const found = await warnOfUnknownOperations(ctx.db, (name) => ctx.find(name) !== undefined, log);
    expect(found).toContainEqual({ operation: GONE, unfinished: expect.any(Number) });
    expect(lines.find((l) => l.operation === GONE)?.msg).toMatch(/does not run.*fail them in the admin console/);
  });

  it('ends the job of a failed request of an unknown operation instead of retrying it for ever', async () => {
    const inspector = inspectQueue(ctx.config.queuePrefix);
    const worker = await ctx.startWorker();
    try {
      const id = await stranded(`job-${randomUUID()}`);
      await inspector.queue.add(
        'process',
        { requestId: id, operation: GONE },
        { jobId: jobIdFor(id), attempts: 1_000, backoff: { type: 'fixed', delay: 200 } },
      );
      await waitUntil('the job retried', async () => ((await inspector.queue.getJob(jobIdFor(id)))?.attemptsMade ?? 0) >= 1, {
        timeoutMs: 10_000,
      });
      expect((await fail(id, 'route removed')).statusCode).toBe(200);
      const job = await waitUntil(
        'the job finished',
        async () => {
          const j = await inspector.queue.getJob(jobIdFor(id));
          return j?.finishedOn ? j : undefined;
        },
        { timeoutMs: 10_000 },
      );
      expect(job.returnvalue).toBe('already-terminal');
    } finally {
      await worker.close();
      await inspector.close();
    }
  });
});
