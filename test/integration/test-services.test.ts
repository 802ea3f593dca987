import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type PrivateRedis, startPrivateRedis } from '../infra/private-services.ts';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { TEST_SERVICES } from '../helpers/services.ts';

/** Keys under `<prefix>:` on one Redis. */
async function keysUnder(url: string, prefix: string): Promise<string[]> {
  const redis = new Redis(url, { ...REDIS_PROTOCOL, maxRetriesPerRequest: 3 });
  try {
    return await redis.keys(`${prefix}:*`);
  } finally {
    redis.disconnect();
  }
}

// TEST_REDIS_URL names another Redis: everything a test does goes there, the one the run uses otherwise sees nothing.
describe('the suite follows TEST_REDIS_URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idemq-test-redis-'));
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis(dir);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await redis?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the context, the queue inspector and the key deleter against the configured Redis only', async () => {
    vi.stubEnv('TEST_REDIS_URL', redis.url);
    vi.resetModules();
    const { createTestContext } = await import('../helpers/context.ts');
    const { submit } = await import('../helpers/submit.ts');
    const { inspectQueue } = await import('../helpers/queue.ts');
    const { deleteQueueKeys } = await import('../helpers/queue-keys.ts');
    const ctx = await createTestContext();
    let closed = false;
    try {
      expect(ctx.config.redisUrl).toBe(redis.url);
      const app = await ctx.startApi();
      await ctx.startWorker();
      const res = await submit(app, '/v1/items', { name: 'item', quantity: 1 }, { headers: { prefer: 'wait=10' } });
      expect(res.statusCode, res.body).toBe(200);

      const prefix = ctx.config.queuePrefix;
      const inspector = inspectQueue(prefix);
      try {
        expect(await inspector.queue.getJob(`req-${res.json().id}`)).toBeDefined();
      } finally {
        await inspector.close();
      }
      expect((await keysUnder(redis.url, prefix)).length).toBeGreaterThan(0);
      expect(await keysUnder(TEST_SERVICES.redisUrl, prefix)).toEqual([]);
      closed = true;
      await ctx.close();
      expect(await deleteQueueKeys(prefix)).toBeGreaterThan(0);
      expect(await keysUnder(redis.url, prefix)).toEqual([]);
    } finally {
      if (!closed) await ctx.close();
    }
  });
});
