import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeploymentId } from '../../src/db/deployment.repository.ts';
import { ownerKey } from '../../src/queue/queue-owner.ts';
import { StartupError } from '../../src/startup-error.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { requestRow, terminalRow } from '../helpers/requests.ts';
import { submitAccepted } from '../helpers/submit.ts';
import { connectTestRedis } from '../helpers/redis-target.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const redis = connectTestRedis();
afterAll(() => redis.quit());

/** A second deployment: its own database, given an identity of its own (a clone shares the template's). */
async function otherDeployment(env: Record<string, string>): Promise<TestContext> {
  const ctx = await createTestContext(env);
  await sql`update idemq.deployment set id = gen_random_uuid()`.execute(ctx.db);
  return ctx;
}

describe('two deployments, two databases, one Redis', () => {
  let a: TestContext;
  let b: TestContext;
  beforeAll(async () => {
    a = await createTestContext();
    b = await otherDeployment({ QUEUE_PREFIX: a.config.queuePrefix });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("the second one's worker and API refuse to start on the first one's QUEUE_PREFIX, saying what to do", async () => {
    await a.startWorker();
    const problem = new RegExp(
      `^Cannot start:\\n {2}- QUEUE_PREFIX: "${a.config.queuePrefix}" on this Redis belongs to another deployment \\(database identity ${await readDeploymentId(a.db)}; .*a QUEUE_PREFIX of its own.*redis-cli del ${ownerKey(a.config.queuePrefix)}`,
    );
    const worker = b.startWorker();
    await expect(worker).rejects.toThrow(StartupError);
    await expect(worker).rejects.toThrow(problem);
    await expect(b.startApi()).rejects.toThrow(problem);
  });

  it('a deployment with a QUEUE_PREFIX of its own starts beside it on the same Redis', async () => {
    const c = await otherDeployment({});
    try {
      await c.startWorker();
      expect(await redis.get(ownerKey(c.config.queuePrefix))).toBe(await readDeploymentId(c.db));
    } finally {
      await c.close();
    }
  });
});

describe('a running worker whose QUEUE_PREFIX another deployment claims (Redis lost the claim)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx?.close());

  it('stops taking jobs, leaving them for their owner, and takes them again once the prefix is its own', async () => {
    const api = await ctx.startApi();
    const handle = await ctx.startWorker();
    const key = ownerKey(ctx.config.queuePrefix);
    await redis.set(key, '00000000-0000-4000-8000-000000000000');
    await waitUntil('the worker to pause', async () => handle.workers.every((w) => w.isPaused()));
    const id = await submitAccepted(api, '/v1/items', { name: 'item', quantity: 100 });
    // RECONCILE_INTERVAL_MS is 500 in tests: three checks that found the prefix another's
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await requestRow(ctx, id))?.status).toBe('queued');
    await redis.del(key);
    expect((await terminalRow(ctx, id)).status).toBe('succeeded');
    expect(handle.workers.every((w) => !w.isPaused())).toBe(true);
    expect(await redis.get(key)).toBe(await readDeploymentId(ctx.db));
  });
});

describe('upgrading: jobs queued by a release that claimed nothing', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx?.close());

  it('drain under the same QUEUE_PREFIX, which the first upgraded worker claims', async () => {
    const api = await ctx.startApi();
    const id = await submitAccepted(api, '/v1/items', { name: 'item', quantity: 100 });
    // as an older release left it: the job queued, no claim
    await redis.del(ownerKey(ctx.config.queuePrefix));
    await ctx.startWorker();
    expect((await terminalRow(ctx, id)).status).toBe('succeeded');
    expect(await redis.get(ownerKey(ctx.config.queuePrefix))).toBe(await readDeploymentId(ctx.db));
  });
});
