import { callWithRetry, type HttpDeps } from './http-call.ts';
import { isRequestView } from './submit.ts';
import { isTerminal, type Outcome, type RequestView } from './types.ts';

/** The longest hold asked of the service per poll; under common proxies' 60 s idle timeouts. */
const POLL_WAIT_SECONDS = 25;

/**
 * Follows a request by long-polling `GET /v1/requests/{id}?wait=N` until it is terminal, handing
 * each answer to `onView`. Failed polls are retried with backoff for as long as `signal` allows:
 * the caller's deadline is the budget.
 */
export async function longPollOutcome(
  deps: HttpDeps,
  requestId: string,
  signal: AbortSignal,
  onView: (view: RequestView) => void,
): Promise<Outcome> {
  const patient: HttpDeps = {
    ...deps,
    policy: { ...deps.policy, maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: Number.POSITIVE_INFINITY },
  };
  for (;;) {
    const { body } = await callWithRetry(patient, {
      method: 'GET',
      path: `/v1/requests/${encodeURIComponent(requestId)}?wait=${POLL_WAIT_SECONDS}`,
      signal,
      attemptTimeoutMs: POLL_WAIT_SECONDS * 1000 + 10_000,
      accept: isRequestView,
      label: `GET /v1/requests/${requestId}`,
    });
    onView(body);
    if (isTerminal(body)) return body;
  }
}
