import type { Queue } from 'bullmq';
import { createRequestQueues, type RequestQueues } from '../../src/queue/request-queue.ts';
import { connectTestRedis, testRedisTarget } from './redis-target.ts';

/**
 * A read-side handle on a context's request queue, to assert what BullMQ holds: `queues`, every
 * shard, and `queue`, shard 0 (the whole queue unless QUEUE_SHARDS says otherwise). It looks at
 * the test Redis itself (or the file's cluster), never at a test's proxy in front of it.
 */
export function inspectQueue(prefix: string): { queue: Queue; queues: RequestQueues; close(): Promise<void> } {
  const target = testRedisTarget();
  const connection = connectTestRedis(target);
  const queues = createRequestQueues(connection, { ...target, queuePrefix: prefix });
  return {
    queue: queues.shards[0] as Queue,
    queues,
    async close() {
      await queues.close();
      connection.disconnect();
    },
  };
}
