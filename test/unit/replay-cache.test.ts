import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RequestRow } from '../../src/db/database.ts';
import { createReplayCache, replaySize } from '../../src/idempotency/replay-cache.ts';

const row = (key: string, result: unknown = { ok: 1 }, payload: unknown = { big: 'x'.repeat(100_000) }): RequestRow => ({
  id: randomUUID(),
  tenant_id: 'acme',
  idempotency_key: key,
  fingerprint: 'f1',
  operation: 'items.create',
  payload,
  status: 'succeeded',
  result,
  error: null,
  version: 3,
  created_at: new Date(),
  updated_at: new Date(),
  retention_seconds: 3600,
  expires_at: new Date(Date.now() + 3_600_000),
  attempts: 1,
  lease_until: null,
  history: [{ status: 'queued', at: new Date().toISOString() }],
});

describe('replay cache', () => {
  it('keeps no payload and no history, only what a replay answers', () => {
    const cache = createReplayCache({ maxBytes: 1_000_000 });
    const r = row('k');
    expect(cache.fill(cache.begin(), r)).toBe(true);
    const cached = cache.get('acme', 'k');
    expect(cached).toMatchObject({ id: r.id, fingerprint: 'f1', status: 'succeeded', result: { ok: 1 }, payload: null, history: [] });
    // the 100 kB payload is not counted: it is not there
    expect(cache.bytes).toBeLessThan(2_000);
  });

  it('holds at most its byte budget, and no record larger than an eighth of it', () => {
    const cache = createReplayCache({ maxBytes: 1_000_000 });
    for (let i = 0; i < 200; i++) cache.fill(cache.begin(), row(`k${i}`, { blob: 'y'.repeat(20_000) }));
    expect(cache.bytes).toBeLessThanOrEqual(1_000_000);
    expect(cache.size).toBeGreaterThan(10);
    expect(cache.size).toBeLessThan(200);
    // the latest are kept, the oldest evicted
    expect(cache.get('acme', 'k199')).toBeDefined();
    expect(cache.get('acme', 'k0')).toBeUndefined();
    const huge = row('huge', { blob: 'z'.repeat(200_000) });
    expect(replaySize(huge)).toBeGreaterThan(1_000_000 / 8);
    expect(cache.fill(cache.begin(), huge)).toBe(false);
    expect(cache.get('acme', 'huge')).toBeUndefined();
    expect(createReplayCache({ maxBytes: 0 }).fill(cache.begin(), row('off'))).toBe(false);
  });

  it('forgets a request on its status event, and refuses a fill read before one', () => {
    const cache = createReplayCache({ maxBytes: 1_000_000 });
    const r = row('k');
    cache.fill(cache.begin(), r);
    cache.invalidate(r.id);
    expect(cache.get('acme', 'k')).toBeUndefined();
    // read, then the event, then the fill: the row may predate the change
    const ticket = cache.begin();
    cache.invalidate(r.id);
    expect(cache.fill(ticket, r)).toBe(false);
    // an event of another request does not refuse it
    const later = cache.begin();
    cache.invalidate(randomUUID());
    expect(cache.fill(later, r)).toBe(true);
  });

  it('serves nothing while the feed is down, and drops what it held before', () => {
    const cache = createReplayCache({ maxBytes: 1_000_000 });
    cache.fill(cache.begin(), row('k'));
    const ticket = cache.begin();
    cache.suspend();
    expect(cache.get('acme', 'k')).toBeUndefined();
    expect(cache.fill(cache.begin(), row('k2'))).toBe(false);
    cache.resume();
    expect(cache.get('acme', 'k')).toBeUndefined();
    // read before the link dropped: events may have been lost since
    expect(cache.fill(ticket, row('k3'))).toBe(false);
    expect(cache.fill(cache.begin(), row('k4'))).toBe(true);
  });

  it('does not answer an expired record', () => {
    const cache = createReplayCache({ maxBytes: 1_000_000 });
    cache.fill(cache.begin(), { ...row('k'), expires_at: new Date(Date.now() - 1) });
    expect(cache.get('acme', 'k')).toBeUndefined();
  });
});
