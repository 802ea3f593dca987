/**
 * Rejects if `promise` takes longer than `ms` (an error naming `what`); the promise itself runs on.
 * Bounds a call to a dependency that may hang rather than fail: Redis or Postgres frozen.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}
