/**
 * A token bucket for one WebSocket's messages: `perSecond` on average, `burst` at once. `take`
 * says whether a message may be handled now; `rejectedInARow` counts the refusals since the last
 * message it let through, which tells a flood (that never pauses) from a client a little too fast.
 */
export function createMessageRate(perSecond: number, burst: number, now: () => number = performance.now.bind(performance)) {
  let tokens = burst;
  let last = now();
  let rejectedInARow = 0;
  return {
    take(): boolean {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * perSecond);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        rejectedInARow = 0;
        return true;
      }
      rejectedInARow++;
      return false;
    },
    get rejectedInARow() {
      return rejectedInARow;
    },
  };
}
