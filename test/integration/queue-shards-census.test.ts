import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMigrations } from '../../src/app-definition.ts';
import { startWorker } from '../../workers/start-worker.ts';
import { adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';
import { waitUntil } from '../helpers/wait-until.ts';

// An API deployed with QUEUE_SHARDS=2, its workers left at 1: jobs on shard 1 wait for the reconciler
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ QUEUE_SHARDS: '2' });
});
afterAll(() => ctx?.close());

describe('API instances and workers with different QUEUE_SHARDS', () => {
  it('agree: readiness says ok', async () => {
    const api = await ctx.startApi();
    expect((await api.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    expect((await (await ctx.startAdmin(api)).inject({ url: '/metrics', headers: adminAuth })).body).toMatch(
      /^idemq_queue_shards_mismatch 0$/m,
    );
  });

  it("differ: the worker warns at start, and the API's readiness names the counts (degraded)", async () => {
    const api = await ctx.startApi();
    await api.inject({ url: '/readyz' });
    const lines: Record<string, any>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const worker = await startWorker({ ...ctx.config, queueShards: 1 }, log, {
      operations: ctx.app.operations,
      migrations: appMigrations(ctx.app),
    });
    try {
      const warning = await waitUntil("the worker's warning", async () => lines.find((l) => l.others !== undefined), { timeoutMs: 10_000 });
      expect(warning).toMatchObject({ level: 40, queueShards: 1, others: [2] });
      expect(warning.msg).toMatch(/QUEUE_SHARDS is 1 here but 2 in another API instance or worker.*set one QUEUE_SHARDS everywhere/);
      const ready = (await api.inject({ url: '/readyz' })).json();
      expect(ready).toEqual({ status: 'degraded', checks: { postgres: 'ok', redis: 'QUEUE_SHARDS differs: 2 here, 1 elsewhere' } });
      const admin = await ctx.startAdmin(api);
      expect((await admin.inject({ url: '/metrics', headers: adminAuth })).body).toMatch(/^idemq_queue_shards_mismatch 1$/m);
    } finally {
      await worker.close();
    }
  }, 30_000);
});
