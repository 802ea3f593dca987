import Type from 'typebox';
import { MAX_WAIT_SECONDS } from './prefer.ts';

export const RequestViewSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  operation: Type.String(),
  status: Type.Union([Type.Literal('queued'), Type.Literal('processing'), Type.Literal('succeeded'), Type.Literal('failed')]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description:
      'when the idempotency key is forgotten; null while unfinished: the key is kept until the request is terminal, then for IDEMPOTENCY_TTL_SECONDS',
  }),
  result: Type.Optional(Type.Unknown({ description: 'present once succeeded' })),
  error: Type.Optional(
    Type.Object(
      {
        code: Type.String(),
        message: Type.String(),
        upstream: Type.Optional(
          Type.Object(
            {
              status: Type.Integer(),
              headers: Type.Record(Type.String(), Type.String()),
              body: Type.Unknown(),
              truncated: Type.Optional(Type.Boolean()),
            },
            { description: "forward routes: the upstream's answer that decided the failure" },
          ),
        ),
      },
      { description: 'present once failed' },
    ),
  ),
});

/** Any string, so that a malformed id answers 404 like an unknown one; documented as a uuid (openapi-document.ts). */
export const IdParams = Type.Object({ id: Type.String() });

export const WaitQuery = Type.Object({
  wait: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_WAIT_SECONDS, description: 'hold up to this many seconds until the request is terminal' }),
  ),
});

/** The key is optional to the validator so that a missing one gets the service's own 400; documented as required. */
export const SubmitHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: 'required: 1 to 255 printable ASCII characters, bare or as a quoted structured-field string' }),
  ),
  prefer: Type.Optional(Type.String({ description: 'RFC 7240, e.g. `wait=10`: answer 200 with the outcome if it is ready within 10 s' })),
});
