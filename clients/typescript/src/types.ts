import type { paths } from './generated/api-types.ts';

/** The POST routes that submit an operation: each takes an `Idempotency-Key`. */
export type SubmitRoute = {
  [P in keyof paths]: paths[P] extends { post: { requestBody: { content: { 'application/json': unknown } } } } ? P : never;
}[keyof paths];

/** The JSON body a submit route takes, as the service's OpenAPI document describes it. */
export type SubmitBody<R extends SubmitRoute> = paths[R]['post']['requestBody']['content']['application/json'];

/**
 * The `result` of a submit route's operation, as the service's OpenAPI document describes its
 * `200` answer; `unknown` for a route whose document does not say.
 */
export type SubmitResult<R extends SubmitRoute> = paths[R]['post'] extends {
  responses: { 200: { content: { 'application/json': { result?: infer T } } } };
}
  ? T
  : unknown;

/** A request's state, as `GET /v1/requests/{id}` answers it (any operation's, so `result` is `unknown`). */
export type RequestView = paths['/v1/requests/{id}']['get']['responses'][200]['content']['application/json'];

export type RequestStatus = RequestView['status'];

/** A terminal state: `result` once succeeded, `error` (`code`, `message`) once failed. */
export type Outcome = RequestView & { status: 'succeeded' | 'failed' };

/** RFC 9457 problem details, as every error answer of the service carries them. */
export type ProblemDetails = paths['/v1/payments']['post']['responses'][422]['content']['application/problem+json'];

/** The answer to a submit: the request's state, where to read it again, and whether the key had been seen. */
export interface Submission extends RequestView {
  /** the request's status URL, `/v1/requests/{id}` (the `Location` header) */
  location: string;
  /** true when the service had already recorded this key (`Idempotent-Replayed: true`), e.g. after a retry */
  replayed: boolean;
  /** the key the request was sent with: generated when none was given */
  idempotencyKey: string;
}

export function isTerminal(view: Pick<RequestView, 'status'>): view is Outcome {
  return view.status === 'succeeded' || view.status === 'failed';
}
