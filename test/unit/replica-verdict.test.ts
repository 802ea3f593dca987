import { describe, expect, it } from 'vitest';
import type { RequestRow } from '../../src/db/database.ts';
import { replicaVerdict } from '../../src/idempotency/replica-first-rows.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const row = (status: RequestRow['status'], version: number, expiresInMs?: number) =>
  ({ status, version, expires_at: expiresInMs === undefined ? null : new Date(NOW + expiresInMs) }) as RequestRow;

describe('replicaVerdict: which rows read on a replica may be served', () => {
  it('serves a terminal row far from its expiry, unless its readers named a newer version (a re-drive)', () => {
    expect(replicaVerdict(row('succeeded', 3, 3_600_000), NOW, 60_000)).toBe('terminal');
    expect(replicaVerdict(row('failed', 2, 3_600_000), NOW, 60_000, 2)).toBe('terminal');
    expect(replicaVerdict(row('failed', 2, 3_600_000), NOW, 60_000, 3)).toBe('behind');
  });

  it('sends a missing row, and a terminal one within the margin of its expiry, to the primary', () => {
    expect(replicaVerdict(undefined, NOW, 60_000)).toBe('missing');
    expect(replicaVerdict(row('succeeded', 3, 60_000), NOW, 60_000)).toBe('expiring');
    expect(replicaVerdict(row('succeeded', 3, -1), NOW, 60_000)).toBe('expiring');
  });

  it('serves an unfinished row only at or past the version its readers named', () => {
    expect(replicaVerdict(row('processing', 2), NOW, 60_000)).toBe('unfinished');
    expect(replicaVerdict(row('processing', 2), NOW, 60_000, 3)).toBe('behind');
    expect(replicaVerdict(row('processing', 2), NOW, 60_000, 2)).toBe('current');
    expect(replicaVerdict(row('queued', 4), NOW, 60_000, 2)).toBe('current');
  });
});
