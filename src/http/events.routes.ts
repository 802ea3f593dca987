import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { AppDeps } from '../app.ts';
import { isTerminal, toRequestView } from '../idempotency/request-view.ts';
import { followRequest } from '../status/follow-request.ts';
import { emptyResponse, eventStreamResponse, NOT_FOUND, V1_PROBLEMS } from './openapi-responses.ts';
import { notFound, ProblemError } from './problem.ts';
import { clientGone } from './request-reply.ts';
import { IdParams } from './schemas.ts';
import type { KeyHolds } from './key-holds.ts';
import { holdSocketFor } from './server-limits.ts';
import { type TenantSlots, tooManyHeld } from './tenant-slots.ts';

const KEEPALIVE_MS = 15_000;
/** unsent bytes above this end the stream; the client reconnects with Last-Event-ID */
const MAX_UNSENT_BYTES = 256 * 1024;

const EventHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ description: 'the `id:` of the last event received: resume after that version' })),
});

/**
 * GET /v1/requests/{id}/events: Server-Sent Events for clients without WebSocket. Each event's id
 * is the request's version; a reconnect with Last-Event-ID gets only newer states. The stream ends
 * after the terminal state; a reconnect after that gets 204, which tells EventSource to stop.
 */
export async function eventRoutes(app: FastifyInstance, deps: AppDeps & { held: TenantSlots; holds: KeyHolds }): Promise<void> {
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
            'One `status` event per change (`id:` the request\'s version, `data:` the request\'s state as JSON), comments as keep-alives; ends after the terminal state.',
          ),
          204: emptyResponse('The request was already terminal at `Last-Event-ID`: nothing more will come (EventSource stops).'),
          ...NOT_FOUND,
          ...V1_PROBLEMS,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const since = Number(request.headers['last-event-id']);
      const sinceVersion = Number.isInteger(since) && since > 0 ? since : 0;
      const current = await deps.readRequest(request.tenantId, id);
      if (!current) throw new ProblemError(notFound(`Request ${id}`));
      if (isTerminal(current.status) && current.version <= sinceVersion) return reply.code(204).send();

      const release = deps.held.acquire(request.tenantId);
      if (!release) throw tooManyHeld(deps.held.max);
      const signal = clientGone(reply);
      // the stream is silent between keepalives, which may be longer than the idle timeout
      holdSocketFor(request, KEEPALIVE_MS * 2, deps.config.http);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      const keepalive = setInterval(() => raw.write(': keepalive\n\n'), KEEPALIVE_MS);
      const stop = new AbortController();
      const hold = deps.holds.hold(request.keyHash);
      try {
        await followRequest(
          deps,
          request.tenantId,
          id,
          (row) => {
            // the follow reads once more after an abort: a key revoked meanwhile gets nothing more
            if (hold.signal.aborted) return;
            if (raw.writableLength > MAX_UNSENT_BYTES) return stop.abort();
            raw.write(`id: ${row.version}\nevent: status\ndata: ${JSON.stringify(toRequestView(row))}\n\n`);
          },
          { signal: AbortSignal.any([signal, stop.signal, hold.signal]), sinceVersion },
        );
      } catch (err) {
        request.log.warn({ err }, 'event stream ended by an error');
      } finally {
        clearInterval(keepalive);
        release();
        hold.release();
        raw.end();
      }
    },
  );
}
