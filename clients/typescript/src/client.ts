import { type AwaitOptions, awaitOutcome } from './await-outcome.ts';
import type { HttpDeps } from './http-call.ts';
import { createOutcomeSocket, DEFAULT_SOCKET_OPTIONS, type SocketConstructor, type SocketOptions } from './outcome-socket.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.ts';
import { submit, type SubmitOptions } from './submit.ts';
import type { Outcome, RequestView, Submission, SubmitBody, SubmitRoute, UntypedPaths, WithResult } from './types.ts';

export interface ClientOptions {
  /** the API's address, e.g. `https://idemq.example.com` */
  baseUrl: string;
  /** a tenant's API key */
  apiKey: string;
  /** how calls retry; each field defaults to DEFAULT_RETRY_POLICY's */
  retry?: Partial<RetryPolicy>;
  /** how long `awaitOutcome` and `run` wait for an outcome unless told otherwise; default 120 s */
  outcomeTimeoutMs?: number;
  /** the shared WebSocket's timings; each field defaults to DEFAULT_SOCKET_OPTIONS's */
  socket?: Partial<SocketOptions>;
  /** another `fetch` (default: the platform's) */
  fetch?: typeof fetch;
  /** another WebSocket (default: the platform's); `null` follows outcomes by long-polling only */
  WebSocket?: SocketConstructor | null;
}

export type RunOptions = SubmitOptions & AwaitOptions;

/** The answer to a submit to route `R` of `P`, its `result` (with `wait`) typed as the route's. */
export type TypedSubmission<P extends object = UntypedPaths, R extends SubmitRoute<P> = SubmitRoute<P>> = WithResult<Submission<R>, P, R>;

/** The terminal state of a request submitted to route `R` of `P`, its `result` typed as the route's. */
export type TypedOutcome<P extends object = UntypedPaths, R extends SubmitRoute<P> = SubmitRoute<P>> = WithResult<Outcome, P, R>;

/** An outcome of route `R` of `P`, its `result` typed as the route's, with how its request was submitted. */
export type RunResult<P extends object = UntypedPaths, R extends SubmitRoute<P> = SubmitRoute<P>> = TypedOutcome<P, R> &
  Pick<Submission<R>, 'route' | 'location' | 'replayed' | 'idempotencyKey'>;

/** A client of the service whose OpenAPI `paths` are `P`: it submits to P's operation routes only, with their bodies. */
export interface IdemqClient<P extends object = UntypedPaths> {
  /**
   * Submits an operation with an Idempotency-Key (generated unless given) and retries it with the
   * same key on connection errors, timeouts, 408, 425, 429 and 5xx, honouring Retry-After, within
   * the retry budget. Throws the typed ProblemError of a 4xx (IdempotencyKeyReused, ValidationError,
   * Unauthorized, NotFound, ProblemError), or RetryBudgetExceeded.
   */
  submit<R extends SubmitRoute<P>>(route: R, body: SubmitBody<P, R>, options?: SubmitOptions): Promise<TypedSubmission<P, R>>;
  /** The terminal state of a submission, over the client's one WebSocket or by long-polling; `result` typed as its route's. */
  awaitOutcome<R extends SubmitRoute<P>>(submission: TypedSubmission<P, R>, options?: AwaitOptions): Promise<TypedOutcome<P, R>>;
  /** The terminal state of a request (by id, or its state), over the client's one WebSocket or by long-polling. */
  awaitOutcome(target: string | RequestView, options?: AwaitOptions): Promise<Outcome>;
  /** submit, then awaitOutcome. */
  run<R extends SubmitRoute<P>>(route: R, body: SubmitBody<P, R>, options?: RunOptions): Promise<RunResult<P, R>>;
  /** Closes the WebSocket; pending waits reject. */
  close(): void;
}

/**
 * A client for one API key. Create one and share it: all its waits use one WebSocket. `P` is the
 * service's OpenAPI `paths` (as `idemq client-types` writes them): routes, bodies and results are
 * then checked against it; without it any route and body compile, and `result` is `unknown`.
 */
export function createClient<P extends object = UntypedPaths>(options: ClientOptions): IdemqClient<P> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const http: HttpDeps = { baseUrl: options.baseUrl, apiKey: options.apiKey, fetch: fetchFn, policy };
  const Socket =
    options.WebSocket === undefined ? (globalThis as { WebSocket?: SocketConstructor }).WebSocket : (options.WebSocket ?? undefined);
  const wsUrl = new URL('/v1/ws', options.baseUrl);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = Socket
    ? createOutcomeSocket(wsUrl.toString(), options.apiKey, Socket, { ...DEFAULT_SOCKET_OPTIONS, ...options.socket })
    : undefined;
  const closing = new AbortController();
  const awaitDeps = { http, socket, defaultTimeoutMs: options.outcomeTimeoutMs ?? 120_000, closing: closing.signal };

  return {
    // the service answers a route with its operation's result (SubmitResult), which the schema of GET /v1/requests/{id} cannot say
    submit: (route, body, opts) => submit(http, route, body, opts) as Promise<TypedSubmission<P, typeof route>>,
    awaitOutcome: ((target: string | RequestView, opts?: AwaitOptions) =>
      awaitOutcome(awaitDeps, target, opts)) as IdemqClient<P>['awaitOutcome'],
    async run(route, body, opts = {}) {
      const submission = await submit(http, route, body, opts);
      const outcome = await awaitOutcome(awaitDeps, submission, opts);
      return {
        ...outcome,
        route,
        location: submission.location,
        replayed: submission.replayed,
        idempotencyKey: submission.idempotencyKey,
      } as RunResult<P, typeof route>;
    },
    close() {
      closing.abort(new Error('the idemq client was closed'));
      socket?.close();
    },
  };
}
