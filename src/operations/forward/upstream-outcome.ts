import type { CallOutcome, UpstreamAnswer } from './call-upstream.ts';
import type { ForwardRoute } from './forward-route.ts';
import { PROCESSING_FAILED } from '../error-codes.ts';
import { type BackoffTerms, backoffMs, isRetryableStatus, parseRetryAfter } from '../../retry-policy.ts';

export const UPSTREAM_REJECTED = 'upstream_rejected';

/** What a forwarded request stores when it fails: the error code, and the upstream's last answer if it gave one. */
export interface ForwardError {
  code: typeof UPSTREAM_REJECTED | typeof PROCESSING_FAILED;
  message: string;
  upstream?: UpstreamAnswer;
}

export type Decision =
  | { kind: 'succeeded'; result: Omit<UpstreamAnswer, 'retryAfter'> }
  | { kind: 'failed'; error: ForwardError }
  /** another attempt, not before `delayMs` from now */
  | { kind: 'retry'; delayMs: number; reason: string };

/**
 * What one attempt's outcome means for the request (pure). 2xx: succeeded with the answer. Other
 * 4xx except 408, 425 and 429 (and a 3xx: redirects are not followed): failed, `upstream_rejected`,
 * with the answer. Those three, 5xx, timeouts and connection errors are retried while attempts
 * remain, after an exponential, jittered delay or the upstream's Retry-After if longer, both
 * capped by retryMaxMs; after the last attempt the request fails, `processing_failed`, with the
 * last answer if there was one.
 */
export function decide(outcome: CallOutcome, opts: { route: ForwardRoute; attempt: number; now: number; random: () => number }): Decision {
  const { route, attempt } = opts;
  if (outcome.kind === 'answer') {
    const { retryAfter, ...answer } = outcome.answer;
    if (answer.status >= 200 && answer.status < 300) return { kind: 'succeeded', result: answer };
    if (!isRetryableStatus(answer.status)) {
      return {
        kind: 'failed',
        error: { code: UPSTREAM_REJECTED, message: `The upstream refused the request (HTTP ${answer.status}).`, upstream: answer },
      };
    }
    if (attempt >= route.maxAttempts) {
      return {
        kind: 'failed',
        error: {
          code: PROCESSING_FAILED,
          message: `The upstream answered HTTP ${answer.status} to each of ${attempt} attempts.`,
          upstream: answer,
        },
      };
    }
    const asked = parseRetryAfter(retryAfter, opts.now);
    const delayMs = Math.min(route.retryMaxMs, Math.max(asked ?? 0, backoffMs(backoffOf(route), attempt, opts.random)));
    return { kind: 'retry', delayMs, reason: `HTTP ${answer.status}${asked !== undefined ? `, Retry-After ${retryAfter}` : ''}` };
  }
  const reason = outcome.kind === 'timeout' ? `no answer within ${outcome.afterMs} ms` : `upstream unreachable (${outcome.message})`;
  if (attempt >= route.maxAttempts) {
    return {
      kind: 'failed',
      error: { code: PROCESSING_FAILED, message: `The upstream gave no answer to ${attempt} attempts; the last: ${reason}.` },
    };
  }
  return { kind: 'retry', delayMs: backoffMs(backoffOf(route), attempt, opts.random), reason };
}

/** A route's retry terms (retryBaseMs, retryMaxMs) as backoffMs takes them. */
export function backoffOf(route: Pick<ForwardRoute, 'retryBaseMs' | 'retryMaxMs'>): BackoffTerms {
  return { baseMs: route.retryBaseMs, maxMs: route.retryMaxMs };
}
