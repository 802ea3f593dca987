import { SpanKind } from '@opentelemetry/api';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type, { type TSchema } from 'typebox';
import { parseIdempotencyKey } from '../idempotency/idempotency-key.ts';
import { isTerminal } from '../idempotency/request-view.ts';
import { createSubmit, type SubmitOutcome } from '../idempotency/submit.ts';
import type { OperationSpec } from '../operations/operation.ts';
import { contextFromCarrier, withSpan } from '../tracing/spans.ts';
import type { AppDeps } from './api-deps.ts';
import type { KeyHolds } from './key-holds.ts';
import { preferredWaitSeconds } from './prefer.ts';
import { findUnstorableText } from '../json/json-text.ts';
import { documentAs } from './openapi-document.ts';
import { HEADER, jsonResponse, problemResponse, V1_PROBLEMS } from './openapi-responses.ts';
import { problem, ProblemError } from './problem.ts';
import { heldWait } from './held-wait.ts';
import { replyWithRequest } from './request-reply.ts';
import { RequestViewSchema, SubmitHeaders } from './schemas.ts';
import type { RateLimits } from './rate-limits.ts';
import type { TenantSlots } from './tenant-slots.ts';

/**
 * The answers of a submit route. With the operation's output schema, the document shows it as
 * the request's `result`; the serializer keeps `result` as stored (see documentAs).
 */
function submitResponses(output: TSchema | undefined) {
  const view = output ? Type.Object({ ...RequestViewSchema.properties }) : RequestViewSchema;
  if (output) documentAs(view, Type.Object({ ...RequestViewSchema.properties, result: Type.Optional(output) }));
  return {
    200: jsonResponse(
      'Finished within `Prefer: wait`: the outcome (`result` or `error`). A retry of a finished request with `Prefer: wait` answers so at once.',
      view,
      { ...HEADER.location, ...HEADER.replayed, ...HEADER.preferenceApplied },
    ),
    202: jsonResponse(
      'Accepted: recorded durably and queued; or a retry with the same key and body (`Idempotent-Replayed: true`), with the result once finished; or still unfinished after `Prefer: wait`.',
      view,
      { ...HEADER.location, ...HEADER.pollAfter, ...HEADER.replayed, ...HEADER.preferenceApplied },
    ),
    ...SUBMIT_PROBLEMS,
  };
}

const SUBMIT_PROBLEMS = {
  400: problemResponse(
    'Idempotency-Key missing or invalid (`…/idempotency-key-missing`, `…/idempotency-key-invalid`), or a body that fails the schema (`…/invalid-request`, with `errors[]`) or is not JSON (`…/malformed-json`), or holds text Postgres cannot store, a NUL or a lone surrogate (`…/invalid-json-text`, with `errors[]`), or is nested too deep (`…/body-too-deep`), holds too many values (`…/body-too-complex`) or is not I-JSON: a key twice, a number beyond ±(2^53 − 1) (`…/not-i-json`), each with `errors[]`; nothing recorded.',
  ),
  413: problemResponse('Body over 1 MiB (`…/body-too-large`); nothing recorded.'),
  415: problemResponse('Body not `application/json` (`…/unsupported-media-type`); nothing recorded.'),
  403: problemResponse('The API key may only read (scope `read`) (`…/insufficient-scope`); nothing recorded.', HEADER.wwwAuthenticate),
  422: problemResponse(
    'The key was used for another request (other body or endpoint) (`…/idempotency-key-reused`); the original is untouched.',
  ),
  ...V1_PROBLEMS,
  429: problemResponse(
    'Too many requests (`…/rate-limited`), as on every /v1 route; or too many bytes of bodies submitted this minute with this API key (`…/byte-rate-limited`); nothing recorded.',
    HEADER.rateLimited,
  ),
};

export interface OperationRoutesOptions {
  deps: AppDeps;
  operations: readonly OperationSpec[];
  held: TenantSlots;
  holds: KeyHolds;
  limits: Pick<RateLimits, 'tenantBytes'>;
}

/**
 * One POST route per operation, all with the same idempotency semantics (submit.ts); the routes
 * map HTTP to the submit story and its outcome back to an answer. Knows only each operation's
 * OperationSpec: whatever kind runs it, submitting it is the same.
 */
export const operationRoutes: FastifyPluginAsyncTypebox<OperationRoutesOptions> = async (
  app,
  { deps, operations, held, holds, limits },
) => {
  // Operations take JSON only. Fastify parses text/plain by default, which would turn a wrong
  // content type into a schema error (400) instead of 415; this plugin's scope drops that parser.
  app.removeContentTypeParser('text/plain');
  // The key before the body (docs/api.md, Idempotency semantics): a client without one has a bug a
  // fixed body would not cure, and a header costs nothing to check before the body is read.
  app.addHook('preParsing', async (request, _reply, payload) => {
    const parsed = parseIdempotencyKey(request.headers['idempotency-key']);
    if (!parsed.ok) throw keyProblem(parsed);
    return payload;
  });
  // Before the schema, so no operation's schema can let such text through to the grouped INSERT.
  app.addHook('preValidation', async (request) => {
    const pointer = findUnstorableText(request.body);
    if (pointer === undefined) return;
    throw new ProblemError(
      problem(
        'invalid-json-text',
        'The body holds a NUL character (\\u0000) or a lone UTF-16 surrogate, which cannot be stored; remove it or encode the data otherwise.',
        { extra: { errors: [{ pointer: `#${pointer}`, detail: 'a string or key holding \\u0000 or a lone surrogate' }] } },
      ),
    );
  });
  // after the schema, before the key is looked up: what would be stored counts, replays included
  app.addHook('preHandler', async (request, reply) => limits.tenantBytes(request, reply, request.bodyBytes));
  const submit = createSubmit({ accept: deps.accept, enqueue: deps.enqueue, ttlSeconds: deps.config.idempotencyTtlSeconds });

  for (const op of operations) {
    app.post(
      op.route,
      {
        config: { jsonLimits: op.jsonLimits },
        schema: {
          summary: op.summary,
          tags: ['operations'],
          security: [{ bearer: [] }],
          headers: SubmitHeaders,
          body: op.input,
          response: submitResponses(op.output),
        },
      },
      (request, reply) =>
        withSpan(
          `POST ${op.route}`,
          {
            kind: SpanKind.SERVER,
            // a client that sends `traceparent` gets the request's spans in its own trace
            parent: contextFromCarrier(request.headers),
            attributes: { 'http.request.method': 'POST', 'http.route': op.route, 'idemq.operation': op.name },
          },
          async (span) => {
            const outcome = await submit(
              { tenantId: request.tenantId, idempotencyKey: request.headers['idempotency-key'], operation: op, payload: request.body },
              request.log,
            );
            if (outcome.kind === 'invalid-key') throw keyProblem(outcome);
            span.setAttributes({ 'idemq.outcome': outcome.kind, 'idemq.request_id': outcome.request.id });
            if (outcome.kind === 'mismatch') {
              throw new ProblemError(
                problem(
                  'idempotency-key-reused',
                  `This key was first used for another request (${outcome.request.operation}, other body or endpoint). Use a new key for a new request.`,
                ),
              );
            }
            return replyPerPreference(request, reply, outcome, { deps, held, holds });
          },
        ),
    );
  }
};

/**
 * Answers an accepted submission: at once, or with `Prefer: wait=N` once it is terminal or N
 * seconds have passed (200 with the outcome, 202 if still unfinished). Beyond the tenant's cap of
 * held requests the preference is declined, not the request.
 */
async function replyPerPreference(
  request: FastifyRequest,
  reply: FastifyReply,
  outcome: Extract<SubmitOutcome, { kind: 'created' | 'replayed' }>,
  { deps, held, holds }: Pick<OperationRoutesOptions, 'deps' | 'held' | 'holds'>,
) {
  let row = outcome.request;
  let wait = preferredWaitSeconds(request.headers.prefer);
  if (wait !== undefined && wait > 0 && !isTerminal(row.status)) {
    const waited = await heldWait(request, reply, { ...deps, held, holds }, row.id, wait * 1000);
    // the request is recorded: beyond the tenant's held cap the preference is declined, not the request
    if (waited === 'declined') wait = undefined;
    else row = waited ?? row;
  }
  return replyWithRequest(reply, row, {
    replayed: outcome.kind === 'replayed',
    waited: wait,
    pendingCode: 202,
    terminalCode: wait !== undefined ? 200 : 202,
  });
}

/** The problem (400) for a missing or invalid Idempotency-Key. */
function keyProblem({ reason, detail }: { reason: 'missing' | 'invalid'; detail: string }): ProblemError {
  return new ProblemError(problem(reason === 'missing' ? 'idempotency-key-missing' : 'idempotency-key-invalid', detail));
}
