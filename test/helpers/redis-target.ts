import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, inject } from 'vitest';
import { createRedis, type RedisClient, type RedisTarget } from '../../src/redis.ts';
import { type PrivateRedisCluster, startPrivateRedisCluster } from '../infra/private-redis-cluster.ts';
import { type RedisClusterView, redisClusterView } from '../infra/redis-cluster-view.ts';
import { TEST_SERVICES } from './services.ts';

/** queue shards of the redis-cluster project: 3, so that the shards lie on different masters */
const PROJECT_CLUSTER_SHARDS = 3;

let cluster: PrivateRedisCluster | undefined;
let shards = 1;

/**
 * From now on, in this test file, every context runs on a private Redis Cluster of the file's own
 * (3 masters with a replica each) with `queueShards` queue shards, and so do the helpers that look
 * at Redis: for a file that kills or restarts nodes. The cluster is started now and destroyed after
 * the file's tests. A file calls it at its top level.
 */
export async function routeThroughRedisCluster(opts: { queueShards?: number } = {}): Promise<PrivateRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'idemq-redis-cluster-'));
  cluster = await startPrivateRedisCluster(dir);
  shards = opts.queueShards ?? 1;
  const started = cluster;
  afterAll(async () => {
    // the next file in this worker (isolate: false) starts on the shared Redis again
    cluster = undefined;
    shards = 1;
    await started.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return started;
}

/** The redis-cluster project's shared cluster (test/infra/redis-cluster.global-setup.ts); throws in another project. */
export function projectRedisCluster(): RedisClusterView & { nodes: { host: string; port: number }[] } {
  if (TEST_SERVICES.target !== 'redis-cluster')
    throw new Error('projectRedisCluster: run this file in the redis-cluster project (vitest --project redis-cluster)');
  const nodes = inject('redisClusterNodes');
  return { nodes, ...redisClusterView(() => nodes.map((n) => n.port)) };
}

/**
 * The Redis the file's tests use: the file's private cluster (routeThroughRedisCluster), the
 * project's cluster in the redis-cluster project, or else the shared test Redis.
 */
export function testRedisTarget(): RedisTarget & { queueShards: number } {
  if (cluster) return { redisUrl: TEST_SERVICES.redisUrl, redisClusterNodes: cluster.nodes, queueShards: shards };
  if (TEST_SERVICES.target === 'redis-cluster')
    return { redisUrl: TEST_SERVICES.redisUrl, redisClusterNodes: inject('redisClusterNodes'), queueShards: PROJECT_CLUSTER_SHARDS };
  return { redisUrl: TEST_SERVICES.redisUrl, redisClusterNodes: [], queueShards: 1 };
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
