import { callWithRetry, type HttpDeps } from './http-call.ts';
import type { RequestView, Submission } from './types.ts';

export interface SubmitOptions {
  /** names the request: the same key and body always mean the same request. Generated (UUID v4) when absent; keep it to retry the call later */
  idempotencyKey?: string;
  /** seconds (1 to 60) the service may hold the answer for the outcome (`Prefer: wait`) */
  wait?: number;
  signal?: AbortSignal;
}

/**
 * POSTs `body` to an operation's route with an Idempotency-Key, retrying with the SAME key (see
 * callWithRetry), so the operation is recorded and done at most once however often the network
 * fails. Resolves with the request's state once recorded (or its outcome, with `wait`).
 */
export async function submit(deps: HttpDeps, route: string, body: unknown, opts: SubmitOptions = {}): Promise<Submission> {
  const idempotencyKey = opts.idempotencyKey ?? crypto.randomUUID();
  const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': idempotencyKey };
  if (opts.wait !== undefined) headers.prefer = `wait=${opts.wait}`;
  const answer = await callWithRetry(deps, {
    method: 'POST',
    path: route,
    headers,
    body: JSON.stringify(body),
    signal: opts.signal,
    // the service holds the answer up to `wait` seconds: an attempt must outlast that
    ...(opts.wait !== undefined ? { attemptTimeoutMs: Math.max(deps.policy.attemptTimeoutMs, opts.wait * 1000 + 10_000) } : {}),
    accept: isRequestView,
    label: `POST ${route} (Idempotency-Key ${idempotencyKey})`,
  });
  return {
    ...answer.body,
    route,
    location: answer.headers.get('location') ?? `/v1/requests/${answer.body.id}`,
    replayed: answer.headers.get('idempotent-replayed') === 'true',
    idempotencyKey,
  };
}

/** The shape every request answer has; anything else did not come from the API. */
export function isRequestView(body: unknown): body is RequestView {
  const v = body as Partial<RequestView> | undefined;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.status === 'string' && typeof v.operation === 'string';
}
