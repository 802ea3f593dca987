import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { isTerminal } from '../idempotency/request-view.ts';
import type { AppDeps } from './api-deps.ts';
import type { KeyHolds } from './key-holds.ts';
import { MAX_WAIT_SECONDS } from './prefer.ts';
import { HEADER, jsonResponse, NOT_FOUND, problemResponse, V1_PROBLEMS } from './openapi-responses.ts';
import { notFound, problem, ProblemError } from './problem.ts';
import { heldWait } from './held-wait.ts';
import { replyWithRequest } from './request-reply.ts';
import { IdParams, RequestViewSchema, WaitQuery } from './schemas.ts';
import { type TenantSlots, tooManyHeld } from './tenant-slots.ts';

/**
 * The TypeBox validator converts query strings loosely before checking them ("1.5" → 1, "" → 0,
 * "true" → 1), so a malformed wait would be honoured as some other number: only digits pass here.
 */
async function requireWholeSecondsWait(request: FastifyRequest): Promise<void> {
  // before validation the query is as parsed: a string, or an array when given twice
  const query = request.query;
  const wait = typeof query === 'object' && query !== null && 'wait' in query ? query.wait : undefined;
  if (wait === undefined || (typeof wait === 'string' && /^\d+$/.test(wait))) return;
  throw new ProblemError(
    problem(
      'invalid-request',
      `The querystring is not valid: wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}, once.`,
      {
        extra: { errors: [{ pointer: '#/wait', detail: 'must be a whole number of seconds' }] },
      },
    ),
  );
}

/** What the status route uses: the request's reads and wake-ups, and the holds it counts against. */
export type RequestRouteDeps = Pick<AppDeps, 'config' | 'readRequest' | 'feed' | 'onPushed'> & { held: TenantSlots; holds: KeyHolds };

export const requestRoutes: FastifyPluginAsyncTypebox<RequestRouteDeps> = async (app, deps) => {
  app.get(
    '/v1/requests/:id',
    {
      schema: {
        summary: "A request's state; with ?wait=N, held until terminal or N seconds",
        tags: ['requests'],
        security: [{ bearer: [] }],
        params: IdParams,
        querystring: WaitQuery,
        response: {
          200: jsonResponse("The request's state; with `?wait=N`, once terminal or after N seconds.", RequestViewSchema, {
            ...HEADER.location,
            ...HEADER.pollAfter,
          }),
          400: problemResponse('`wait` is not a whole number of seconds from 0 to 60 (`…/invalid-request`).'),
          ...NOT_FOUND,
          ...V1_PROBLEMS,
        },
      },
      preValidation: requireWholeSecondsWait,
    },
    async (request, reply) => {
      const { id } = request.params;
      const { wait = 0 } = request.query;
      let row = await deps.readRequest(request.tenantId, id);
      if (row && wait > 0 && !isTerminal(row.status)) {
        const waited = await heldWait(request, reply, deps, id, wait * 1000);
        if (waited === 'declined') throw tooManyHeld(deps.held.max);
        row = waited;
      }
      if (!row) throw new ProblemError(notFound(`Request ${id}`));
      return replyWithRequest(reply, row, { pendingCode: 200, terminalCode: 200 });
    },
  );
};
