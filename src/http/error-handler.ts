import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RequestNotRecorded } from '../idempotency/split-batch.ts';
import { isTransientError } from '../retry-policy.ts';
import { problem, ProblemError, sendProblem, unavailable } from './problem.ts';
import type { ProblemSlug } from './problem-types.ts';

/** Fastify's own error codes, mapped to stable problem types. */
const FASTIFY_PROBLEMS: Record<string, ProblemSlug> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed-body',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-json',
};

/**
 * Turns every error into problem+json: expected ones with their stable type, a body Postgres
 * refused for its content into 400, infrastructure failures and other key writes Postgres refused
 * for one request (RequestNotRecorded) into 503 with Retry-After, anything else into a 500 that is
 * logged with its stack.
 */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const instance = request.url.split('?')[0];
  if (error instanceof ProblemError) return sendProblem(reply, error.problem, instance);
  if (error.validation) {
    return sendProblem(
      reply,
      problem('invalid-request', `The ${error.validationContext ?? 'request'} is not valid: ${error.message}`, {
        extra: {
          errors: error.validation.map((v) => ({ pointer: `#${v.instancePath}`, detail: v.message ?? 'invalid' })),
        },
      }),
      instance,
    );
  }
  const known = error.code ? FASTIFY_PROBLEMS[error.code] : undefined;
  if (known) return sendProblem(reply, problem(known, error.message), instance);
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return sendProblem(reply, problem('malformed-json', error.message), instance);
  }
  if (error.statusCode === 429) {
    return sendProblem(reply, problem('rate-limited', error.message), instance);
  }
  if (isTransientError(error)) {
    request.log.warn({ err: error }, 'infrastructure unavailable');
    return sendProblem(
      reply,
      unavailable(
        'A backing service is unavailable. Retry with the same Idempotency-Key: if the request was recorded after all, the retry replays it and never runs it twice.',
      ),
      instance,
    );
  }
  if (error instanceof RequestNotRecorded && error.byContent) {
    request.log.warn({ err: error }, 'request body refused by Postgres');
    return sendProblem(
      reply,
      problem(
        'unstorable-body',
        'Postgres refused to store this body (too deeply nested, or text it cannot hold); nothing was recorded. Change the body: retrying it as it is fails the same way.',
      ),
      instance,
    );
  }
  if (error instanceof RequestNotRecorded) {
    // not the client's doing (the API refuses what it can foresee), and the requests that shared its statement went on
    request.log.error({ err: error }, 'idempotency key not recorded');
    return sendProblem(
      reply,
      unavailable('The request could not be recorded. Retry with the same Idempotency-Key; if it keeps failing, contact the operator.'),
      instance,
    );
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return sendProblem(reply, problem('bad-request', error.message, { status: error.statusCode }), instance);
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, problem('internal-error', 'An unexpected error occurred; it has been logged.'), instance);
}
