import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { type PrivateRedisCluster, startPrivateRedisCluster } from '../infra/private-redis-cluster.ts';
import { createRedis, type RedisClient, type RedisTarget } from '../../src/redis.ts';
import { TEST_SERVICES } from './services.ts';

let cluster: PrivateRedisCluster | undefined;
let shards = 1;

/**
 * From now on, in this test file, every context runs on a private Redis Cluster (3 masters with a
 * replica each) with `queueShards` queue shards, and so do the helpers that look at Redis. The
 * cluster is started now and destroyed after the file's tests. A file calls it at its top level.
 */
export async function routeThroughRedisCluster(opts: { queueShards?: number } = {}): Promise<PrivateRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'idemq-redis-cluster-'));
  cluster = await startPrivateRedisCluster(dir);
  shards = opts.queueShards ?? 1;
  const started = cluster;
  afterAll(async () => {
    await started.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return started;
}

/** The Redis the file's tests use: the shared test Redis, or the file's private cluster. */
export function testRedisTarget(): RedisTarget & { queueShards: number } {
  return { redisUrl: TEST_SERVICES.redisUrl, redisClusterNodes: cluster?.nodes ?? [], queueShards: shards };
}

/** The environment that points a process at testRedisTarget(). */
export function testRedisEnv(): Record<string, string> {
  const target = testRedisTarget();
  return {
    REDIS_URL: target.redisUrl,
    REDIS_CLUSTER_NODES: target.redisClusterNodes.map((n) => `${n.host}:${n.port}`).join(','),
    QUEUE_SHARDS: String(target.queueShards),
  };
}

/** A test's own connection to `target` (by default testRedisTarget()), waiting for Redis as long as it takes. */
export function connectTestRedis(target: RedisTarget = testRedisTarget()): RedisClient {
  return createRedis(target, 'blocking', () => undefined);
}
