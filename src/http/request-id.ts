import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A caller's request id is kept only when it is this short and made of these characters. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's `genReqId`: the caller's `x-request-id` when it is at most 128 characters of letters,
 * digits and `. _ : -` (enough for a UUID, a ULID or a trace id), else a new UUID. The id is bound
 * to every log line of the request and echoed back, so a long or odd one would multiply into logs.
 */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}
