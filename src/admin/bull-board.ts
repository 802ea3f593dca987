import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { audit } from './admin-audit.ts';

export const BULL_BOARD_PATH = '/queues';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * BullMQ's own dashboard (Bull Board) for the request queue's shards, at /queues. Every call that
 * changes a queue or a job (retry, promote, clean, remove, pause…) is audited with its answer's status.
 */
export async function bullBoardRoutes(app: FastifyInstance, { queues }: { queues: readonly Queue[] }): Promise<void> {
  app.addHook('onResponse', async (request, reply) => {
    if (READS.has(request.method)) return;
    audit(request, 'queues', { method: request.method, path: request.url.split('?')[0], status: reply.statusCode });
  });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'idemq queues' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
