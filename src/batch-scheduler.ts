/**
 * Lets at most `limit` batches run at once; while they do, new calls wait and join the next batch.
 * That is what makes batches grow with load and stay single under none.
 */
export function createBatchScheduler(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return {
    wait: (dispatch: () => void) => {
      if (running < limit) setImmediate(dispatch);
      else waiting.push(dispatch);
    },
    async run<T>(work: () => Promise<T>): Promise<T> {
      running++;
      try {
        return await work();
      } finally {
        running--;
        waiting.shift()?.();
      }
    },
  };
}
