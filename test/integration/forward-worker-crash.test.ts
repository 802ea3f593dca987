import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstreamKeyFor } from '../../src/operations/forward/upstream-key.ts';
import { LEASE_GRACE_MS } from '../../workers/forward-runner.ts';
import { fixtureForwardRoute } from '../fixtures/app/forward-route.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { writeRoutesFile } from '../helpers/forward-routes.ts';
import { requestRow, terminalRow } from '../helpers/requests.ts';
import { submit } from '../helpers/submit.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { startUpstreamServer, type UpstreamServer } from '../helpers/upstream-server.ts';
import { waitUntil } from '../helpers/wait-until.ts';
import { startWorkerProcess } from '../helpers/worker-process.ts';

const TIMEOUT_MS = 1_500;

describe('a worker SIGKILLed mid-call to the upstream', () => {
  let upstream: UpstreamServer;
  let ctx: TestContext;
  let app: FastifyInstance;
  let routesFile: Awaited<ReturnType<typeof writeRoutesFile>>;

  beforeAll(async () => {
    upstream = await startUpstreamServer();
    routesFile = await writeRoutesFile([fixtureForwardRoute(upstream.url, { timeoutMs: TIMEOUT_MS, maxAttempts: 5 })]);
    ctx = await createTestContext({ FORWARD_ROUTES_FILE: routesFile.path, JOB_LOCK_MS: '1000', STALLED_INTERVAL_MS: '500' });
    app = await ctx.startApi();
  });
  afterAll(async () => {
    await ctx.close();
    await upstream.close();
    await routesFile.remove();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  it('is retried by another worker with the same key once the lease is over; the request ends once, with one effect', async () => {
    // the first attempt never answers; the doomed worker is killed while it waits
    upstream.behave((_, n) => (n === 1 ? { hang: true } : { status: 201, body: { itemId: 'i-1' } }));
    const doomed = await startWorkerProcess(ctx, { FORWARD_ROUTES_FILE: routesFile.path });
    const key = randomUUID();
    const res = await submit(app, '/v1/relayed-items', { name: 'tea' }, { key });
    expect(res.statusCode, res.body).toBe(202);
    const { id } = res.json();
    const upstreamKey = upstreamKeyFor('acme', key);
    await waitUntil('the first attempt to reach the upstream', async () => upstream.attemptsOf(upstreamKey).length === 1);
    const leased = await requestRow(ctx, id);
    expect(leased?.status).toBe('processing');
    expect(leased?.attempts).toBe(1);
    const leaseUntil = leased!.lease_until!.getTime();
    // the lease covers the call's timeout and the grace, counted from the claim
    expect(leaseUntil - upstream.attemptsOf(upstreamKey)[0]!.at).toBeGreaterThan(TIMEOUT_MS);

    await doomed.kill();
    // the survivor sees the job as soon as BullMQ's stalled check hands it back, before the lease ends
    const survivor = await ctx.startWorker();
    const done = await terminalRow(ctx, id, TIMEOUT_MS + LEASE_GRACE_MS + 15_000);
    expect(done.status).toBe('succeeded');
    expect(done.result).toMatchObject({ status: 201, body: { itemId: 'i-1' } });

    const attempts = upstream.attemptsOf(upstreamKey);
    expect(attempts).toHaveLength(2);
    expect(attempts.map((a) => a.requestId)).toEqual([id, id]);
    // no overlap with the first attempt's lease (Postgres and this process share the machine's clock)
    expect(attempts[1]!.at).toBeGreaterThanOrEqual(leaseUntil);
    expect(attempts[1]!.overlapping).toBe(0);
    expect(upstream.effects.get(upstreamKey)).toBe(1);
    expect(done.attempts).toBe(2);
    // queued (1) -> processing (2) -> succeeded (3): the second claim and the fenced record changed nothing else
    expect(done.version).toBe(3);
    await survivor.close();
  });
});
