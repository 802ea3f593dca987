export {
  createClient,
  type ClientOptions,
  type IdemqClient,
  type RunOptions,
  type RunResult,
  type TypedOutcome,
  type TypedSubmission,
} from './client.ts';
export type { AwaitOptions } from './await-outcome.ts';
export type { SubmitOptions } from './submit.ts';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.ts';
export { DEFAULT_SOCKET_OPTIONS, type SocketConstructor, type SocketLike, type SocketOptions } from './outcome-socket.ts';
export {
  Forbidden,
  IdemqError,
  IdempotencyKeyReused,
  NotFound,
  OutcomeTimeout,
  PROBLEM_BASE,
  ProblemError,
  RetryBudgetExceeded,
  Unauthorized,
  ValidationError,
} from './errors.ts';
export {
  isTerminal,
  type Outcome,
  type ProblemDetails,
  type RequestStatus,
  type RequestView,
  type Submission,
  type SubmitBody,
  type SubmitResult,
  type SubmitRoute,
  type UntypedPaths,
  type WithResult,
} from './types.ts';
