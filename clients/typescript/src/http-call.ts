import { anySignal, sleep } from './abortable.ts';
import { IdemqError, problemError, ProblemError, RetryBudgetExceeded } from './errors.ts';
import { isRetryableStatus, parseRetryAfter, retryDelay, type RetryPolicy } from './retry-policy.ts';
import type { ProblemDetails } from './types.ts';

export interface HttpDeps {
  baseUrl: string;
  apiKey: string;
  fetch: typeof fetch;
  policy: RetryPolicy;
}

export interface HttpCall<T> {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal | undefined;
  /** this call's attempt timeout when it must be longer than the policy's, e.g. for a long-poll */
  attemptTimeoutMs?: number;
  /** what a 2xx body must look like; anything else is treated as a failed attempt and retried */
  accept(body: unknown): body is T;
  /** names the call in errors, e.g. with the Idempotency-Key to retry it with later */
  label: string;
}

export interface HttpAnswer<T> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * Sends one logical request until it gets an answer worth returning: a 2xx whose body `accept`s,
 * or a 4xx other than 408/425/429, thrown as its typed ProblemError. Connection errors, attempts
 * without a whole answer in time, 408/425/429/5xx and answers that are not the API's are retried
 * (exponential backoff, full jitter, never before `Retry-After`) until the policy's attempts or time
 * run out: then RetryBudgetExceeded, with the last failure as `cause`. The caller's `signal` ends it
 * at once with the signal's reason. Only safe to call for idempotent requests: every attempt is the
 * same request, headers included.
 */
export async function callWithRetry<T>(deps: HttpDeps, call: HttpCall<T>): Promise<HttpAnswer<T>> {
  const { policy } = deps;
  const url = new URL(call.path, deps.baseUrl);
  const started = Date.now();
  let lastFailure: unknown;
  for (let attempt = 1; ; attempt++) {
    const timeoutMs = Math.max(1, Math.min(call.attemptTimeoutMs ?? policy.attemptTimeoutMs, policy.maxElapsedMs - (Date.now() - started)));
    let retryAfterMs: number | undefined;
    try {
      const attemptSignal = anySignal([call.signal, AbortSignal.timeout(timeoutMs)]);
      const res = await deps.fetch(url, {
        method: call.method,
        headers: { authorization: `Bearer ${deps.apiKey}`, accept: 'application/json, application/problem+json', ...call.headers },
        body: call.body,
        signal: attemptSignal,
      });
      // the body is read under the same timeout: a server that sends headers and then stalls is a failed attempt
      const text = await res.text();
      const json = parseJson(text);
      const requestId = res.headers.get('x-request-id') ?? undefined;
      if (res.ok && call.accept(json)) return { status: res.status, headers: res.headers, body: json };
      if (res.ok) lastFailure = new IdemqError(`${call.label}: answered ${res.status} with a body that is not the API's: ${preview(text)}`);
      else if (isRetryableStatus(res.status)) {
        lastFailure = isProblem(json)
          ? problemError(json, requestId)
          : new IdemqError(`${call.label}: answered ${res.status} ${preview(text)}`);
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      } else {
        throw isProblem(json)
          ? problemError(json, requestId)
          : new ProblemError(
              { type: 'about:blank', title: res.statusText || 'HTTP error', status: res.status, detail: preview(text) },
              requestId,
            );
      }
    } catch (err) {
      if (call.signal?.aborted) throw call.signal.reason;
      if (err instanceof ProblemError) throw err;
      lastFailure = isTimeout(err) ? new IdemqError(`${call.label}: no whole answer within ${timeoutMs} ms`, { cause: err }) : err;
    }
    const elapsed = Date.now() - started;
    const delay = retryDelay(attempt, policy, retryAfterMs);
    if (attempt >= policy.maxAttempts || elapsed + delay >= policy.maxElapsedMs) {
      const why =
        attempt >= policy.maxAttempts
          ? `${attempt} attempts`
          : `${attempt} attempts in ${elapsed} ms (the next not before ${delay} ms more)`;
      throw new RetryBudgetExceeded(`${call.label}: gave up after ${why}: ${describe(lastFailure)}`, attempt, elapsed, {
        cause: lastFailure,
      });
    }
    await sleep(delay, call.signal);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isProblem(body: unknown): body is ProblemDetails {
  const p = body as Partial<ProblemDetails> | undefined;
  return typeof p === 'object' && p !== null && typeof p.type === 'string' && typeof p.title === 'string' && typeof p.status === 'number';
}

function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'TimeoutError';
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat || '(empty body)';
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error && !err.message.includes(err.cause.message) ? ` (${err.cause.message})` : '';
  return `${err.message}${cause}`;
}
