import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { ConfigError } from '../../src/config.ts';
import { createApiDeps } from '../../src/deps.ts';
import { assertClusterNodes } from '../../src/redis-topology.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';

const silent = pino({ level: 'silent' });
let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx?.close());

/** the test's standalone Redis, named as if it were a cluster's node */
const standaloneAsCluster = () => {
  const url = new URL(ctx.config.redisUrl);
  return [{ host: url.hostname, port: Number(url.port || 6379) }];
};

describe('REDIS_CLUSTER_NODES naming a standalone Redis', () => {
  it('is refused at the API start with a readable ConfigError', async () => {
    const config = { ...ctx.config, redisClusterNodes: standaloneAsCluster() };
    const outcome = await createApiDeps(config, silent).then(
      async (deps) => {
        await deps.close();
        return 'started';
      },
      (err: unknown) => err,
    );
    expect(outcome).toBeInstanceOf(ConfigError);
    expect((outcome as ConfigError).problems).toEqual([
      expect.stringMatching(
        /^REDIS_CLUSTER_NODES: .+ is a standalone Redis \(INFO cluster says cluster_enabled:0\).*unset REDIS_CLUSTER_NODES/,
      ),
    ]);
  }, 20_000);

  it("is refused at a worker's start too", async () => {
    const url = new URL(ctx.config.redisUrl);
    const outcome = await ctx.startWorker({ REDIS_CLUSTER_NODES: `${url.hostname}:${url.port || 6379}` }).then(
      async (handle) => {
        await handle.close();
        return 'started';
      },
      (err: unknown) => err,
    );
    expect(outcome).toBeInstanceOf(ConfigError);
  }, 20_000);

  it('passes over a node that does not answer (a cluster partly down at start)', async () => {
    const port = await freePort();
    await expect(
      assertClusterNodes({ redisUrl: ctx.config.redisUrl, redisClusterNodes: [{ host: '127.0.0.1', port }] }),
    ).resolves.toBeUndefined();
  });
});
