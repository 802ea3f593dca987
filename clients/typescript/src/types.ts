import type { paths as CorePaths } from './generated/core-types.ts';

/**
 * The `paths` of a client created without a type argument: every route takes any body, and
 * `result` is `unknown`. Give your service's own (`createClient<paths>()`) to have them checked.
 */
export interface UntypedPaths {
  [route: `/${string}`]: { post: { requestBody: { content: { 'application/json': unknown } } } };
}

/** How openapi-typescript writes a POST that takes a JSON body: an operation's submit route. */
interface JsonPost<Body = unknown> {
  post: { requestBody: { content: { 'application/json': Body } } };
}

/** The POST routes of `P` (a service's `paths`) that submit an operation: each takes an `Idempotency-Key`. */
export type SubmitRoute<P extends object = UntypedPaths> = {
  [K in keyof P & string]: P[K] extends JsonPost ? K : never;
}[keyof P & string];

/** The JSON body route `R` of `P` takes, as the service's OpenAPI document describes it. */
export type SubmitBody<P extends object, R extends SubmitRoute<P>> = P[R & keyof P] extends JsonPost<infer B> ? B : never;

/**
 * The `result` of route `R`'s operation, as the service's OpenAPI document describes its `200`
 * answer (the operation's output schema); `unknown` where the document does not say.
 */
export type SubmitResult<P extends object, R extends SubmitRoute<P>> = P[R & keyof P] extends {
  post: { responses: { 200: { content: { 'application/json': { result?: infer T } } } } };
}
  ? T
  : unknown;

/** A request's state, as `GET /v1/requests/{id}` answers it (any operation's, so `result` is `unknown`). */
export type RequestView = CorePaths['/v1/requests/{id}']['get']['responses'][200]['content']['application/json'];

export type RequestStatus = RequestView['status'];

/** A terminal state: `result` once succeeded, `error` (`code`, `message`) once failed. */
export type Outcome = RequestView & { status: 'succeeded' | 'failed' };

/** RFC 9457 problem details, as every error answer of the service carries them. */
export type ProblemDetails = CorePaths['/v1/requests/{id}']['get']['responses'][404]['content']['application/problem+json'];

/** `V` (a request's state) with its `result` typed as route `R`'s of `P`. */
export type WithResult<V extends RequestView, P extends object, R extends SubmitRoute<P>> = Omit<V, 'result'> & {
  result?: SubmitResult<P, R>;
};

/** The answer to a submit: the request's state, where to read it again, and whether the key had been seen. */
export interface Submission<R extends string = string> extends RequestView {
  /** the route it was submitted to */
  route: R;
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
