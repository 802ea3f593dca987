import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { STAGE_METRICS } from '../../src/stage-histogram.ts';
import { adminAuth, auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { createItem } from '../helpers/items.ts';
import { submitAccepted } from '../helpers/submit.ts';
import { parseSamples, type Sample, scrape, valueOf } from '../helpers/prometheus-text.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { holdRowLock } from '../helpers/row-lock.ts';
import { waitUntil } from '../helpers/wait-until.ts';
import { openSocket } from '../helpers/ws-client.ts';

const WORKER_STAGES = ['accepted_to_enqueued', 'enqueued_to_taken', 'taken_to_committed', 'committed_to_published'] as const;
const API_STAGES = ['published_to_pushed', 'accepted_to_pushed'] as const;
type StageName = (typeof WORKER_STAGES)[number] | (typeof API_STAGES)[number];

/** count and sum (seconds) of each stage, over the API's and the worker's scrapes */
function stages(samples: Sample[]): Record<StageName, { count: number; sum: number }> {
  const all = [...WORKER_STAGES, ...API_STAGES];
  return Object.fromEntries(
    all.map((stage) => {
      const name = (WORKER_STAGES as readonly string[]).includes(stage) ? STAGE_METRICS.worker : STAGE_METRICS.api;
      return [stage, { count: valueOf(samples, `${name}_count`, { stage }), sum: valueOf(samples, `${name}_sum`, { stage }) }];
    }),
  ) as Record<StageName, { count: number; sum: number }>;
}

describe('stage timings: each request timed from its record to its push', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let admin: FastifyInstance;
  let workerUrl: string;
  let source: string;
  const read = async () => {
    const api = (await admin.inject({ method: 'GET', url: '/metrics', headers: adminAuth })).body;
    return stages([...parseSamples(api), ...(await scrape(workerUrl, adminAuth)).samples]);
  };
  const take = () => submitAccepted(app, '/v1/items', { name: 'item', quantity: 1, takeFrom: source });

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    admin = await ctx.startAdmin(app);
    const port = await freePort();
    workerUrl = `http://127.0.0.1:${port}/metrics`;
    await ctx.startWorker({ WORKER_METRICS_PORT: String(port) });
    source = await createItem(app, 1_000);
  });
  afterAll(async () => {
    await ctx?.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  const settled = async (before: Awaited<ReturnType<typeof read>>) =>
    waitUntil('the relay to observe the published event', async () => {
      const now = await read();
      return now.committed_to_published.count > before.committed_to_published.count && now;
    });
  const delta = (before: Awaited<ReturnType<typeof read>>, after: Awaited<ReturnType<typeof read>>, s: StageName) => ({
    count: after[s].count - before[s].count,
    ms: (after[s].sum - before[s].sum) * 1000,
  });

  it('counts a request pushed over a WebSocket once in every stage, each step >= 0 and the total at least their sum', async () => {
    const ws = await openSocket(`ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/ws`, auth());
    try {
      const before = await read();
      // the request blocks on its source item until the socket follows it, so its completion is a push
      const lock = await holdRowLock(ctx.config.databaseUrl, 'fixture.items', source);
      let id: string;
      try {
        id = await take();
        ws.send({ type: 'subscribe', requestId: id });
        await ws.next((m) => m.type === 'status' && m.requestId === id && m.status === 'processing', 10_000);
        // the `processing` event's own wake-up is over before the commit, so the outcome comes from its event
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        await lock.release();
      }
      await ws.next((m) => m.type === 'status' && m.requestId === id && m.status === 'succeeded', 10_000);
      const after = await settled(before);
      for (const stage of [...WORKER_STAGES, ...API_STAGES]) {
        expect(delta(before, after, stage).count, stage).toBe(1);
        expect(delta(before, after, stage).ms, stage).toBeGreaterThanOrEqual(0);
        expect(delta(before, after, stage).ms, stage).toBeLessThan(10_000);
      }
      const parts = [...WORKER_STAGES, 'published_to_pushed' as const].reduce((a, s) => a + delta(before, after, s).ms, 0);
      const total = delta(before, after, 'accepted_to_pushed').ms;
      // one clock and whole milliseconds: the parts add up to the whole
      expect(total).toBeGreaterThanOrEqual(parts - 1);
      expect(total).toBeLessThanOrEqual(parts + 1);
    } finally {
      ws.ws.close();
    }
  });

  it("counts the worker's steps of a request nobody follows, and no push", async () => {
    const before = await read();
    const id = await take();
    await waitUntil(
      'the request to finish',
      async () =>
        (await ctx.db.selectFrom('idemq.requests').select('status').where('id', '=', id).executeTakeFirst())?.status === 'succeeded',
    );
    const after = await settled(before);
    for (const stage of WORKER_STAGES) expect(delta(before, after, stage).count, stage).toBe(1);
    for (const stage of API_STAGES) expect(delta(before, after, stage).count, stage).toBe(0);
  });
});
