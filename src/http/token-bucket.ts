/**
 * A token bucket: `perSecond` on average, `burst` at once. `take` says whether one more may go now;
 * `refusedInARow` counts the refusals since the last one it let through, which tells a flood (that
 * never pauses) from a client a little too fast.
 */
export function createTokenBucket(perSecond: number, burst: number, now: () => number = performance.now.bind(performance)) {
  let tokens = burst;
  let last = now();
  let refusedInARow = 0;
  return {
    take(): boolean {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * perSecond);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        refusedInARow = 0;
        return true;
      }
      refusedInARow++;
      return false;
    },
    get refusedInARow() {
      return refusedInARow;
    },
  };
}
