import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY_POLICY, isRetryableStatus, retryDelay } from '../../clients/typescript/src/retry-policy.ts';

const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1_000 };

describe('client retry policy', () => {
  it('retries 408, 425, 429 and every 5xx; no other status', () => {
    const retried = Array.from({ length: 500 }, (_, i) => i + 100).filter(isRetryableStatus);
    expect(retried).toEqual([408, 425, 429, ...Array.from({ length: 100 }, (_, i) => 500 + i)]);
  });

  it('backs off exponentially with full jitter: a uniform draw below a doubling cap, capped at maxDelayMs', () => {
    const caps = [1, 2, 3, 4, 5, 6].map((retry) => backoffDelay(retry, policy, () => 0.999_999));
    expect(caps).toEqual([99, 199, 399, 799, 999, 999]);
    expect([1, 2, 3, 10].map((retry) => backoffDelay(retry, policy, () => 0))).toEqual([0, 0, 0, 0]);
  });

  it('never retries before Retry-After, however small the jittered backoff', () => {
    expect(retryDelay(1, policy, 2_000, () => 0)).toBe(2_000);
    expect(retryDelay(4, policy, 10, () => 0.5)).toBe(400);
    expect(retryDelay(1, policy, undefined, () => 0.5)).toBe(50);
  });
});
