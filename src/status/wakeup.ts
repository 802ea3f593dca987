/**
 * A level-triggered wake-up: a `wake()` that comes while nobody waits is kept for the next `wait()`,
 * so a notification that arrives between a read and the wait is never lost. A wake-up may name the
 * version it announces; `wait` tells the highest named since the last wait.
 */
export interface Wakeup {
  wake(version?: number): void;
  /**
   * Resolves on a wake-up (pending or new), after `ms`, or when `signal` aborts; never rejects.
   * Resolves with the highest version the wake-ups named, or undefined after a timeout, an abort,
   * or a wake-up that named none (anything may have changed).
   */
  wait(ms: number, signal?: AbortSignal): Promise<number | undefined>;
}

export function createWakeup(): Wakeup {
  let pending = false;
  // the highest version named since the last wait; undefined once a wake-up named none
  let version: number | undefined;
  let release: (() => void) | undefined;
  const take = () => {
    const taken = pending ? version : undefined;
    pending = false;
    version = undefined;
    return taken;
  };
  return {
    wake(named) {
      version = named === undefined || (pending && version === undefined) ? undefined : Math.max(named, version ?? named);
      pending = true;
      release?.();
    },
    wait(ms, signal) {
      if (pending || signal?.aborted) return Promise.resolve(take());
      return new Promise<number | undefined>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          release = undefined;
          resolve(signal?.aborted ? (take(), undefined) : take());
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
        release = done;
      });
    },
  };
}
