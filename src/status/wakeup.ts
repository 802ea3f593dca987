/**
 * A level-triggered wake-up: a `wake()` that comes while nobody waits is kept for the next `wait()`,
 * so a notification that arrives between a read and the wait is never lost.
 */
export interface Wakeup {
  wake(): void;
  /** Resolves on a wake-up (pending or new), after `ms`, or when `signal` aborts; never rejects. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
}

export function createWakeup(): Wakeup {
  let pending = false;
  let release: (() => void) | undefined;
  return {
    wake() {
      pending = true;
      release?.();
    },
    wait(ms, signal) {
      if (pending || signal?.aborted) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          release = undefined;
          pending = false;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
        release = done;
      });
    },
  };
}
