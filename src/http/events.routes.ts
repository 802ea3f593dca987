import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { isTerminal, toRequestView } from '../idempotency/request-view.ts';
import { followRequest } from '../status/follow-request.ts';
import type { AppDeps } from './api-deps.ts';
import type { KeyHolds } from './key-holds.ts';
import { emptyResponse, eventStreamResponse, NOT_FOUND, V1_PROBLEMS } from './openapi-responses.ts';
import { notFound, ProblemError } from './problem.ts';
import { IdParams } from './schemas.ts';
import { lastEventVersion, streamEvents } from './sse-stream.ts';
import { type TenantSlots, tooManyHeld } from './tenant-slots.ts';

/** What the event stream uses: the request's reads and wake-ups, and the holds it counts against. */
export type EventRouteDeps = Pick<AppDeps, 'config' | 'readRequest' | 'feed' | 'onPushed'> & { held: TenantSlots; holds: KeyHolds };

const EventHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ description: 'the `id:` of the last event received: resume after that version' })),
});

/**
 * GET /v1/requests/{id}/events: Server-Sent Events for clients without WebSocket. Each event's id
 * is the request's version; a reconnect with Last-Event-ID gets only newer states. The stream ends
 * after the terminal state; a reconnect after that gets 204, which tells EventSource to stop.
 */
export const eventRoutes: FastifyPluginAsyncTypebox<EventRouteDeps> = async (app, deps) => {
  app.get(
    '/v1/requests/:id/events',
    {
      schema: {
        summary: 'Server-Sent Events: each status change of a request, until terminal',
        tags: ['requests'],
        security: [{ bearer: [] }],
        params: IdParams,
        headers: EventHeaders,
        response: {
          200: eventStreamResponse(
            "One `status` event per change (`id:` the request's version, `data:` the request's state as JSON), comments as keep-alives; ends after the terminal state.",
          ),
          204: emptyResponse('The request was already terminal at `Last-Event-ID`: nothing more will come (EventSource stops).'),
          ...NOT_FOUND,
          ...V1_PROBLEMS,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const sinceVersion = lastEventVersion(request.headers['last-event-id']);
      const current = await deps.readRequest(request.tenantId, id);
      if (!current) throw new ProblemError(notFound(`Request ${id}`));
      if (isTerminal(current.status) && current.version <= sinceVersion) return reply.code(204).send();

      const release = deps.held.acquire(request.tenantId);
      if (!release) throw tooManyHeld(deps.held.max);
      const hold = deps.holds.hold(request.keyHash);
      try {
        await streamEvents(
          request,
          reply,
          { limits: deps.config.http, headers: { 'x-request-id': request.id }, endedByError: 'event stream ended by an error' },
          (stream) =>
            followRequest(
              deps,
              request.tenantId,
              id,
              (row) => {
                // the follow reads once more after an abort: a key revoked meanwhile gets nothing more
                if (hold.signal.aborted) return;
                stream.send(row.version, 'status', toRequestView(row));
              },
              { signal: AbortSignal.any([stream.signal, hold.signal]), sinceVersion },
            ),
        );
      } finally {
        release();
        hold.release();
      }
    },
  );
};
