import { describe, expect, it } from 'vitest';
import type { CallOutcome } from '../../src/operations/forward/call-upstream.ts';
import { parseForwardRoutes } from '../../src/operations/forward/forward-route.ts';
import { backoffOf, decide } from '../../src/operations/forward/upstream-outcome.ts';
import { upstreamKeyFor } from '../../src/operations/forward/upstream-key.ts';
import { backoffMs } from '../../src/retry-policy.ts';

const [route] = parseForwardRoutes(
  [{ name: 'o.create', route: '/v1/o', upstream: 'http://127.0.0.1:1/o', maxAttempts: 3, retryBaseMs: 100, retryMaxMs: 10_000 }],
  't',
).routes;
const NOW = Date.parse('2026-11-30T12:00:00Z');
const answer = (status: number, extra: { retryAfter?: string; body?: unknown } = {}): CallOutcome => ({
  kind: 'answer',
  answer: {
    status,
    headers: { 'content-type': 'application/json' },
    body: extra.body ?? { s: status },
    ...(extra.retryAfter ? { retryAfter: extra.retryAfter } : {}),
  },
});
const at = (outcome: CallOutcome, attempt: number, random = () => 0.5) => decide(outcome, { route: route!, attempt, now: NOW, random });

describe('decide', () => {
  it.each([200, 201, 204, 299])('%i: succeeded with status, headers and body', (status) => {
    expect(at(answer(status), 1)).toEqual({
      kind: 'succeeded',
      result: { status, headers: { 'content-type': 'application/json' }, body: { s: status } },
    });
  });

  it.each([300, 302, 400, 401, 403, 404, 409, 422, 499])('%i: failed, upstream_rejected, with the answer, on any attempt', (status) => {
    const d = at(answer(status), 1);
    expect(d).toMatchObject({ kind: 'failed', error: { code: 'upstream_rejected', upstream: { status, body: { s: status } } } });
  });

  it.each([408, 425, 429, 500, 502, 503, 504, 599])(
    '%i: retried while attempts remain, then processing_failed with the last answer',
    (status) => {
      expect(at(answer(status), 1).kind).toBe('retry');
      expect(at(answer(status), 2).kind).toBe('retry');
      expect(at(answer(status), 3)).toMatchObject({ kind: 'failed', error: { code: 'processing_failed', upstream: { status } } });
    },
  );

  it('timeouts and connection errors are retried, then processing_failed saying why', () => {
    expect(at({ kind: 'timeout', afterMs: 500 }, 1).kind).toBe('retry');
    expect(at({ kind: 'unreachable', message: 'ECONNREFUSED' }, 2).kind).toBe('retry');
    const last = at({ kind: 'unreachable', message: 'ECONNREFUSED' }, 3);
    expect(last.kind === 'failed' && last.error.message).toContain('ECONNREFUSED');
    expect(last.kind === 'failed' && last.error.upstream).toBeUndefined();
  });

  it('Retry-After longer than the backoff is honoured, seconds or HTTP date; shorter ones do not shorten the backoff', () => {
    expect(at(answer(503, { retryAfter: '7' }), 1)).toMatchObject({ kind: 'retry', delayMs: 7_000 });
    expect(at(answer(429, { retryAfter: new Date(NOW + 4_000).toUTCString() }), 1)).toMatchObject({ kind: 'retry', delayMs: 4_000 });
    expect(at(answer(503, { retryAfter: '0' }), 2)).toMatchObject({ kind: 'retry', delayMs: backoffMs(backoffOf(route!), 2, () => 0.5) });
  });

  it('Retry-After is capped by retryMaxMs, and an unreadable one is ignored', () => {
    expect(at(answer(503, { retryAfter: '86400' }), 1)).toMatchObject({ delayMs: 10_000 });
    expect(at(answer(503, { retryAfter: 'soon' }), 1)).toMatchObject({ delayMs: backoffMs(backoffOf(route!), 1, () => 0.5) });
  });
});

describe('upstreamKeyFor', () => {
  it('is stable, and differs per tenant and per key, even where a naive join would collide', () => {
    expect(upstreamKeyFor('acme', 'k1')).toBe(upstreamKeyFor('acme', 'k1'));
    expect(upstreamKeyFor('acme', 'k1')).not.toBe(upstreamKeyFor('globex', 'k1'));
    expect(upstreamKeyFor('acme', 'k1')).not.toBe(upstreamKeyFor('acme', 'k2'));
    expect(upstreamKeyFor('a:b', 'c')).not.toBe(upstreamKeyFor('a', 'b:c'));
    expect(upstreamKeyFor('acme', 'k1')).toMatch(/^idemq-[A-Za-z0-9_-]{43}$/);
  });
});
