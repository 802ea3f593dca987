/**
 * The worker does not know the request's operation: an API deployed ahead of its workers. Not
 * the request's fault and not final: the job waits and is retried until a worker that knows the
 * operation takes it. Nothing was written for the request.
 */
export class UnknownOperation extends Error {
  readonly operation: string;
  constructor(operation: string) {
    super(`This worker does not run ${operation}; the request waits for a worker that does.`);
    this.name = 'UnknownOperation';
    this.operation = operation;
  }
}
