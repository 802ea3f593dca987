import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimAttempt, completeAttempt, type LeaseTerms, releaseAttempt } from '../../src/idempotency/request-lease.repository.ts';
import { insertRequestsIfAbsent } from '../../src/idempotency/request.repository.ts';
import { parseForwardRoutes } from '../../src/operations/forward/forward-route.ts';
import { forwardOperation } from '../../src/operations/forward/forward-operation.ts';
import { upstreamKeyFor } from '../../src/operations/forward/upstream-key.ts';
import { createForwardRunner } from '../../workers/forward-runner.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { requestRow } from '../helpers/requests.ts';
import { outboxEventsOf } from '../helpers/outbox.ts';
import { startUpstreamServer, type UpstreamServer } from '../helpers/upstream-server.ts';

const TERMS: LeaseTerms[] = [{ operation: 'orders.create', leaseMs: 60_000, maxAttempts: 3 }];

describe('attempts and leases of forwarded requests (Postgres)', () => {
  let ctx: TestContext;
  let upstream: UpstreamServer;
  beforeAll(async () => {
    ctx = await createTestContext();
    upstream = await startUpstreamServer();
  });
  afterAll(async () => {
    await upstream.close();
    await ctx.close();
  });

  async function newRequest(operation = 'orders.create', payload: unknown = { sku: 'tea' }) {
    const [row] = await insertRequestsIfAbsent(ctx.db, [
      { tenantId: 'acme', key: randomUUID(), fingerprint: 'f', operation, payload, ttlSeconds: 60 },
    ]);
    return row!;
  }
  const outboxOf = (id: string) => outboxEventsOf(ctx.db, id);

  it('50 concurrent claims of one request: exactly one wins; the others are told how long the lease has left', async () => {
    const { id } = await newRequest();
    const claims = await Promise.all(Array.from({ length: 50 }, () => claimAttempt(ctx.db, id, TERMS)));
    expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
    const others = claims.filter((c) => c.kind !== 'claimed');
    expect(others.every((c) => c.kind === 'leased' && c.leftMs > 50_000 && c.leftMs <= 60_000)).toBe(true);
    const row = await requestRow(ctx, id);
    expect([row?.status, row?.attempts, row?.version]).toEqual(['processing', 1, 2]);
    // the one observable change, queued -> processing, has its event; the losers wrote none
    expect(await outboxOf(id)).toEqual([{ requestId: id, tenantId: 'acme', status: 'processing', version: 2 }]);
  });

  it('an outcome is recorded only under the attempt number that still holds the request', async () => {
    const { id } = await newRequest();
    const short: LeaseTerms[] = [{ ...TERMS[0]!, leaseMs: 1 }];
    const first = await claimAttempt(ctx.db, id, short);
    expect(first.kind).toBe('claimed');
    await new Promise((r) => setTimeout(r, 20));
    const second = await claimAttempt(ctx.db, id, TERMS);
    expect(second).toMatchObject({ kind: 'claimed', row: { attempts: 2 } });
    // attempt 1's late answer and its release are both fenced off
    expect(await completeAttempt(ctx.db, id, 1, { ok: true, result: 'late' })).toBeUndefined();
    expect(await releaseAttempt(ctx.db, id, 1, 0)).toBe(false);
    expect((await requestRow(ctx, id))?.status).toBe('processing');
    const done = await completeAttempt(ctx.db, id, 2, { ok: true, result: 'on time' });
    expect(done).toMatchObject({ status: 'succeeded', result: 'on time', version: 3 });
    // terminal: nothing more is claimed or recorded
    expect((await claimAttempt(ctx.db, id, TERMS)).kind).toBe('terminal');
    expect(await completeAttempt(ctx.db, id, 2, { ok: true, result: 'again' })).toBeUndefined();
    expect((await outboxOf(id)).map((e) => e.status)).toEqual(['processing', 'succeeded']);
  });

  it('a released attempt holds the next one off until its delay passes, then lets it claim', async () => {
    const { id } = await newRequest();
    await claimAttempt(ctx.db, id, TERMS);
    expect(await releaseAttempt(ctx.db, id, 1, 800)).toBe(true);
    const held = await claimAttempt(ctx.db, id, TERMS);
    expect(held.kind).toBe('leased');
    expect(held.kind === 'leased' && held.leftMs).toBeGreaterThan(500);
    await new Promise((r) => setTimeout(r, 900));
    expect(await claimAttempt(ctx.db, id, TERMS)).toMatchObject({ kind: 'claimed', row: { attempts: 2 } });
  });

  it('once every attempt was started and the last lease is over, the request is exhausted, not claimed again', async () => {
    const { id } = await newRequest();
    const terms: LeaseTerms[] = [{ operation: 'orders.create', leaseMs: 1, maxAttempts: 2 }];
    expect((await claimAttempt(ctx.db, id, terms)).kind).toBe('claimed');
    await new Promise((r) => setTimeout(r, 20));
    expect((await claimAttempt(ctx.db, id, terms)).kind).toBe('claimed');
    await new Promise((r) => setTimeout(r, 20));
    expect(await claimAttempt(ctx.db, id, terms)).toMatchObject({ kind: 'exhausted', row: { attempts: 2 } });
  });

  it('leaves any other operation alone, and says so', async () => {
    const { id } = await newRequest('items.create', { name: 'item', quantity: 1 });
    expect(await claimAttempt(ctx.db, id, TERMS)).toEqual({ kind: 'other', operation: 'items.create' });
    expect(await requestRow(ctx, id)).toMatchObject({ status: 'queued', attempts: 0, lease_until: null, version: 1 });
    expect(await claimAttempt(ctx.db, randomUUID(), TERMS)).toEqual({ kind: 'missing' });
  });

  it('the runner, called 20 times at once for one request, sends one attempt; the others wait for its lease', async () => {
    upstream.behave(() => ({ status: 201, body: { ok: true } }));
    const { routes, problems } = parseForwardRoutes(
      [{ name: 'orders.create', route: '/v1/orders', upstream: `${upstream.url}/orders`, timeoutMs: 2_000 }],
      'test',
    );
    expect(problems).toEqual([]);
    const operation = forwardOperation(routes[0]!);
    const runner = createForwardRunner({ db: ctx.db, log: pino({ level: 'silent' }) });
    const run = (id: string) => runner(id, operation);
    const row = await newRequest();
    const results = await Promise.all(Array.from({ length: 20 }, () => run(row.id)));
    const kinds = results.map((r) => r.kind);
    expect(kinds.filter((k) => k === 'completed')).toHaveLength(1);
    expect(kinds.filter((k) => k !== 'completed').every((k) => k === 'delayed' || k === 'already-terminal')).toBe(true);
    expect(upstream.attemptsOf(upstreamKeyFor('acme', row.idempotency_key))).toHaveLength(1);
    expect((await run(row.id)).kind).toBe('already-terminal');
  });

  it('the runner discards an answer that arrives after a later attempt took over, and writes nothing', async () => {
    const { routes } = parseForwardRoutes(
      [{ name: 'orders.create', route: '/v1/orders', upstream: `${upstream.url}/orders`, timeoutMs: 2_000 }],
      'test',
    );
    const row = await newRequest();
    // while attempt 1 is "in flight", its lease is cut short and another worker claims attempt 2
    const runner = createForwardRunner({
      db: ctx.db,
      log: pino({ level: 'silent' }),
      call: async () => {
        await ctx.db
          .updateTable('idemq.requests')
          .set({ lease_until: new Date(0) })
          .where('id', '=', row.id)
          .execute();
        expect((await claimAttempt(ctx.db, row.id, TERMS)).kind).toBe('claimed');
        return { kind: 'answer', answer: { status: 201, headers: {}, body: 'late' } };
      },
    });
    expect(await runner(row.id, forwardOperation(routes[0]!))).toEqual({ kind: 'fenced' });
    expect(await requestRow(ctx, row.id)).toMatchObject({ status: 'processing', attempts: 2, result: null });
  });

  it('the runner fails a request whose last attempt was lost with its worker, once the lease is over', async () => {
    const { routes } = parseForwardRoutes(
      [{ name: 'orders.create', route: '/v1/orders', upstream: `${upstream.url}/orders`, timeoutMs: 2_000, maxAttempts: 1 }],
      'test',
    );
    const row = await newRequest();
    // attempt 1 claimed by a worker that then died: its lease ran out with no answer recorded
    await claimAttempt(ctx.db, row.id, [{ operation: 'orders.create', leaseMs: 1, maxAttempts: 1 }]);
    await new Promise((r) => setTimeout(r, 20));
    const run = createForwardRunner({ db: ctx.db, log: pino({ level: 'silent' }) });
    const result = await run(row.id, forwardOperation(routes[0]!));
    expect(result).toMatchObject({ kind: 'completed', row: { status: 'failed', attempts: 1, error: { code: 'processing_failed' } } });
    expect(upstream.attemptsOf(upstreamKeyFor('acme', row.idempotency_key))).toHaveLength(0);
  });
});
