import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { REQUEST_QUEUE } from '../../src/queue/request-queue.ts';

/** Where the inspector looks: the shared Redis itself, never a test's proxy in front of it. */
const DIRECT_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A read-side handle on a context's request queue, to assert what BullMQ holds. */
export function inspectQueue(prefix: string): { queue: Queue; close(): Promise<void> } {
  const connection = new Redis(DIRECT_REDIS_URL, { ...REDIS_PROTOCOL, maxRetriesPerRequest: null });
  const queue = new Queue(REQUEST_QUEUE, { connection, prefix });
  return {
    queue,
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
