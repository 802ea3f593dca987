import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { REQUEST_QUEUE } from '../../src/queue/request-queue.ts';
import { TEST_SERVICES } from './services.ts';

/**
 * A read-side handle on a context's request queue, to assert what BullMQ holds. It looks at the
 * test Redis itself, never at a test's proxy in front of it.
 */
export function inspectQueue(prefix: string): { queue: Queue; close(): Promise<void> } {
  const connection = new Redis(TEST_SERVICES.redisUrl, { ...REDIS_PROTOCOL, maxRetriesPerRequest: null });
  const queue = new Queue(REQUEST_QUEUE, { connection, prefix });
  return {
    queue,
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
