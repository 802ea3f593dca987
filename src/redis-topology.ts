import { Redis } from 'ioredis';
import { ConfigError } from './config.ts';
import { REDIS_PROTOCOL, type RedisTarget } from './redis.ts';

// a node that refuses answers at once; this bounds only a node that hangs, and must leave room
// for a busy machine, where a standalone Redis answering late would otherwise pass for a dead node
const ASK_TIMEOUT_MS = 3_000;

/**
 * Refuses REDIS_CLUSTER_NODES that name a standalone Redis: the cluster client would retry its
 * slot map for ever and nothing would say why. Asks the seed nodes in turn, each on a short-lived
 * connection of its own (`INFO cluster`), until one answers; a node that answers
 * `cluster_enabled:0` ends the start with a ConfigError. Nodes that do not answer are passed over:
 * a cluster may be partly down at start, and its client waits for it as usual. Without
 * REDIS_CLUSTER_NODES it does nothing.
 */
export async function assertClusterNodes(target: RedisTarget): Promise<void> {
  const url = new URL(target.redisUrl);
  for (const node of target.redisClusterNodes) {
    const redis = new Redis({
      ...REDIS_PROTOCOL,
      host: node.host,
      port: node.port,
      ...(url.username && { username: decodeURIComponent(url.username) }),
      ...(url.password && { password: decodeURIComponent(url.password) }),
      ...(url.protocol === 'rediss:' && { tls: {} }),
      lazyConnect: true,
      connectTimeout: ASK_TIMEOUT_MS,
      commandTimeout: ASK_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    const info = await redis
      .connect()
      .then(() => redis.info('cluster'))
      .catch(() => undefined)
      .finally(() => redis.disconnect());
    if (info === undefined) continue;
    if (/^cluster_enabled:0\s*$/m.test(info)) {
      throw new ConfigError([
        `REDIS_CLUSTER_NODES: ${node.host}:${node.port} is a standalone Redis (INFO cluster says cluster_enabled:0), not a node of a Redis Cluster: unset REDIS_CLUSTER_NODES to use it through REDIS_URL, or name the nodes of a Redis Cluster`,
      ]);
    }
    return;
  }
}
