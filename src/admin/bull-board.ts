import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';

export const BULL_BOARD_PATH = '/queues';

/** BullMQ's own dashboard (Bull Board) for the request queue's shards, at /queues. */
export async function bullBoardRoutes(app: FastifyInstance, { queues }: { queues: readonly Queue[] }): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter, options: { uiConfig: { boardTitle: 'idemq queues' } } });
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
