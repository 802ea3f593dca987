import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startPrivateRedisCluster } from './private-redis-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** the nodes of the redis-cluster project's private Redis Cluster */
    redisClusterNodes: { host: string; port: number }[];
  }
}

/**
 * Once for the redis-cluster project: a private Redis Cluster (3 masters with a replica each) that
 * every file of the project runs on, each with its own queue prefix; destroyed after the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'idemq-redis-cluster-'));
  const cluster = await startPrivateRedisCluster(dir).catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  project.provide('redisClusterNodes', cluster.nodes);
  return async () => {
    await cluster.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
}
