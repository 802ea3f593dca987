import { anySignal } from './abortable.ts';
import { OutcomeTimeout } from './errors.ts';
import type { HttpDeps } from './http-call.ts';
import { longPollOutcome } from './long-poll.ts';
import type { OutcomeSocket } from './outcome-socket.ts';
import { isTerminal, type Outcome, type RequestView } from './types.ts';

export interface AwaitOptions {
  signal?: AbortSignal;
  /** give up waiting (OutcomeTimeout) after this long; the request itself goes on. `Infinity` waits for as long as it takes */
  timeoutMs?: number;
  /** each state the request passes through, once each, e.g. `processing` before the outcome */
  onStatus?: (view: RequestView) => void;
}

export interface AwaitDeps {
  http: HttpDeps;
  /** absent where there is no WebSocket: then long-poll only */
  socket: OutcomeSocket | undefined;
  defaultTimeoutMs: number;
  /** aborts when the client is closed */
  closing: AbortSignal;
}

/**
 * Resolves with the request's terminal state (a `failed` one too: business failures are outcomes,
 * not errors). Follows it over the client's shared WebSocket; when that fails repeatedly, or there
 * is none, long-polls as well, and the first to see the outcome wins. Rejects with OutcomeTimeout,
 * NotFound, Unauthorized, or the signal's reason.
 */
export async function awaitOutcome(deps: AwaitDeps, target: string | RequestView, opts: AwaitOptions = {}): Promise<Outcome> {
  if (typeof target !== 'string' && isTerminal(target)) return target;
  const requestId = typeof target === 'string' ? target : target.id;
  const timeoutMs = opts.timeoutMs ?? deps.defaultTimeoutMs;
  const deadline = new AbortController();
  // timers take at most 2^31-1 ms (longer ones fire at once): a longer timeout, or Infinity, is none
  const timer = timeoutMs < 2 ** 31 ? setTimeout(() => deadline.abort(new OutcomeTimeout(requestId, timeoutMs)), timeoutMs) : undefined;
  const settled = new AbortController();
  const done = anySignal([opts.signal, deadline.signal, deps.closing, settled.signal]);
  let unwatch = () => undefined as void;
  try {
    return await new Promise<Outcome>((resolve, reject) => {
      if (done.aborted) return reject(done.reason);
      done.addEventListener('abort', () => reject(done.reason), { once: true });
      let seen = '';
      const onView = (view: RequestView) => {
        const key = `${view.status} ${view.updatedAt}`;
        if (key === seen || done.aborted) return;
        seen = key;
        opts.onStatus?.(view);
        if (isTerminal(view)) resolve(view);
      };
      let polling = false;
      const poll = () => {
        if (polling) return;
        polling = true;
        longPollOutcome(deps.http, requestId, done, onView).then(resolve, reject);
      };
      if (!deps.socket) return poll();
      unwatch = deps.socket.watch(requestId, { onStatus: onView, onError: reject, onDegraded: poll });
    });
  } finally {
    clearTimeout(timer);
    settled.abort();
    unwatch();
  }
}
