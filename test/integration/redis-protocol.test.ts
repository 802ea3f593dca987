import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';

/** CLIENT LIST, one record per connection. */
async function clientList(redis: Redis): Promise<Record<string, string>[]> {
  const list = (await redis.client('LIST')) as string;
  return list
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => kv.split('=', 2) as [string, string])));
}

describe('Redis protocol', () => {
  let ctx: TestContext;
  let admin: Redis;
  beforeAll(async () => {
    ctx = await createTestContext();
    admin = new Redis(ctx.config.redisUrl, REDIS_PROTOCOL);
  });
  afterAll(async () => {
    admin?.disconnect();
    await ctx?.close();
  });

  it("every connection of the API and the worker, BullMQ's own duplicates included, speaks RESP2", async () => {
    const app = await ctx.startApi();
    await ctx.startWorker();
    const res = await submit(app, '/v1/items', { name: 'item', quantity: 1 }, { headers: { prefer: 'wait=10' } });
    expect(res.statusCode, res.body).toBe(200);
    // ours are named idemq-<role>; BullMQ names the connections it duplicates <prefix>:<queue>
    const ours = (await clientList(admin)).filter((c) => c.name?.startsWith('idemq-') || c.name?.startsWith(`${ctx.config.queuePrefix}:`));
    expect(ours.filter((c) => c.name!.startsWith(`${ctx.config.queuePrefix}:`)).length).toBeGreaterThanOrEqual(1);
    for (const role of ['producer', 'blocking', 'publisher', 'limiter']) expect(ours.some((c) => c.name === `idemq-${role}`)).toBe(true);
    expect(ours.filter((c) => c.resp !== '2').map((c) => `${c.name} resp=${c.resp}`)).toEqual([]);
  });
});
