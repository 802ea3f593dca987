import type { ProblemDetails } from './types.ts';

/** Base of every problem `type` the service answers with. */
export const PROBLEM_BASE = 'https://idemq.dev/problems/';

/** Any error the client throws on purpose. */
export class IdemqError extends Error {
  override name = 'IdemqError';
}

/**
 * A 4xx answer from the service: its problem details (RFC 9457). Not retried: sending the same
 * request again would get the same answer.
 */
export class ProblemError extends IdemqError {
  override name = 'ProblemError';
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string | undefined;
  readonly instance: string | undefined;
  /** the whole problem body, extension members included */
  readonly problem: ProblemDetails;
  /** the service's log id of the answer (`x-request-id`), to quote when asking for help */
  readonly requestId: string | undefined;
  constructor(problem: ProblemDetails, requestId?: string, options?: { cause?: unknown }) {
    super(`${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`, options);
    this.type = problem.type;
    this.title = problem.title;
    this.status = problem.status;
    this.detail = problem.detail;
    this.instance = problem.instance;
    this.problem = problem;
    this.requestId = requestId;
  }
}

/** 422 `idempotency-key-reused`: the key was first used for another body or route. Use a new key for a new request. */
export class IdempotencyKeyReused extends ProblemError {
  override name = 'IdempotencyKeyReused';
}

/** 400 with `errors[]` (`invalid-request`, `invalid-json-text`): the body does not fit; each error names a JSON pointer. */
export class ValidationError extends ProblemError {
  override name = 'ValidationError';
  get errors(): { pointer: string; detail: string }[] {
    return this.problem.errors ?? [];
  }
}

/** 401: the API key is missing or not valid (also a WebSocket closed with 4401). */
export class Unauthorized extends ProblemError {
  override name = 'Unauthorized';
}

/** 403 `insufficient-scope`: the API key may only read (scope `read`); submitting needs one with `write`. */
export class Forbidden extends ProblemError {
  override name = 'Forbidden';
}

/** 404: no such request or account for this tenant (another tenant's id too). */
export class NotFound extends ProblemError {
  override name = 'NotFound';
}

/** The typed error for a problem answer. */
export function problemError(problem: ProblemDetails, requestId?: string): ProblemError {
  if (problem.status === 422 && problem.type === `${PROBLEM_BASE}idempotency-key-reused`)
    return new IdempotencyKeyReused(problem, requestId);
  if (problem.status === 400 && Array.isArray(problem.errors)) return new ValidationError(problem, requestId);
  if (problem.status === 401) return new Unauthorized(problem, requestId);
  if (problem.status === 403) return new Forbidden(problem, requestId);
  if (problem.status === 404) return new NotFound(problem, requestId);
  return new ProblemError(problem, requestId);
}

/**
 * The retry budget ran out (attempts or time) while the service was unreachable, slow, answered
 * 408/425/429/5xx, or answered something that is not the API's. `cause` is the last failure. A
 * submit may be retried later with the same `idempotencyKey`: it was recorded at most once.
 */
export class RetryBudgetExceeded extends IdemqError {
  override name = 'RetryBudgetExceeded';
  readonly attempts: number;
  readonly elapsedMs: number;
  constructor(message: string, attempts: number, elapsedMs: number, options: { cause: unknown }) {
    super(message, options);
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
  }
}

/** `awaitOutcome` did not see a terminal state within its `timeoutMs`. The request goes on: await it again. */
export class OutcomeTimeout extends IdemqError {
  override name = 'OutcomeTimeout';
  readonly requestId: string;
  readonly timeoutMs: number;
  constructor(requestId: string, timeoutMs: number) {
    super(`request ${requestId} was not finished after ${timeoutMs} ms; it goes on in the service: await it again or read it later`);
    this.requestId = requestId;
    this.timeoutMs = timeoutMs;
  }
}
