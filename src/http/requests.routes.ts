import type { FastifyInstance } from 'fastify';
import { findRequest } from '../idempotency/request.repository.ts';
import { isTerminal } from '../idempotency/request-view.ts';
import { waitForTerminal } from '../status/wait-for-status.ts';
import type { AppDeps } from '../app.ts';
import { notFound, ProblemError, ProblemSchema } from './problem.ts';
import { clientGone, replyWithRequest } from './request-reply.ts';
import { IdParams, RequestViewSchema, WaitQuery } from './schemas.ts';

export async function requestRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.get(
    '/v1/requests/:id',
    {
      schema: {
        summary: 'A request\'s state; with ?wait=N, held until terminal or N seconds',
        tags: ['requests'],
        security: [{ bearer: [] }],
        params: IdParams,
        querystring: WaitQuery,
        response: { 200: RequestViewSchema, '4xx': ProblemSchema, '5xx': ProblemSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { wait = 0 } = request.query as { wait?: number };
      let row = await findRequest(deps.db, request.tenantId, id);
      if (row && wait > 0 && !isTerminal(row.status)) {
        row = await waitForTerminal(deps, request.tenantId, id, wait * 1000, clientGone(reply));
      }
      if (!row) throw new ProblemError(notFound(`Request ${id}`));
      return replyWithRequest(reply, row, { pendingCode: 200, terminalCode: 200 });
    },
  );
}
