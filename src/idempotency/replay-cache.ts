import { LRUCache } from 'lru-cache';
import type { RequestRow } from '../db/database.ts';

/** What a replay needs of a terminal record: no payload, no history (a cached replay answers without them). */
export type ReplayRow = Omit<RequestRow, 'payload' | 'history'> & { payload: null; history: [] };

/** A fill's ticket: taken before the read whose row it may store (see ReplayCache.begin). */
export interface FillTicket {
  readonly generation: number;
  readonly seq: number;
}

export interface ReplayCache {
  /** the cached record of a tenant's key, if any and not expired */
  get(tenantId: string, key: string): ReplayRow | undefined;
  /** to be called before the read whose terminal row may then be stored by `fill` */
  begin(): FillTicket;
  /**
   * Stores a terminal row read after `ticket` was taken, unless the cache was dropped or the
   * request had a status event since (the row may predate it), or it is larger than a share of
   * the budget. Says whether it stored it.
   */
  fill(ticket: FillTicket, row: RequestRow): boolean;
  /** forgets a request: a status event named it (a re-drive, a delete, any change) */
  invalidate(requestId: string): void;
  /** forgets everything and refuses fills begun before: the status feed reconnected or dropped */
  drop(): void;
  /** stops storing (and answering) until `resume`: while no status event can reach this instance */
  suspend(): void;
  resume(): void;
  /** approximate bytes held, and how many records */
  readonly bytes: number;
  readonly size: number;
}

/** a record's fixed share besides its result and error: ids, key, fingerprint, dates, map entries */
const ENTRY_OVERHEAD_BYTES = 1_024;
/** a record larger than this share of the budget is not cached: a few must not evict all others */
const MAX_ENTRY_SHARE = 8;
/** how many recent status events are remembered by request, to refuse a fill that one overtook */
const RECENT_EVENTS = 10_000;

/**
 * Approximate heap bytes of a record: twice the JSON text of its result and error (V8 keeps short
 * strings as one byte a character, but a parsed object costs more than its text) plus a fixed overhead.
 */
export function replaySize(row: Pick<RequestRow, 'result' | 'error' | 'idempotency_key'>): number {
  const json = (row.result == null ? 0 : JSON.stringify(row.result).length) + (row.error == null ? 0 : JSON.stringify(row.error).length);
  return ENTRY_OVERHEAD_BYTES + 2 * (json + row.idempotency_key.length);
}

/**
 * The terminal-replay cache of one API instance, bounded in bytes (`maxBytes`; 0 turns it off).
 * Coherent with Postgres through the status feed: every status event of a cached request removes
 * it (invalidate), a reconnect of the feed drops everything (drop), and while the feed is down
 * nothing is served (suspend). A fill whose row was read before an event of its request, or
 * before a drop, is refused: a ticket taken before the read (a generation and the event sequence
 * number) tells.
 */
export function createReplayCache(opts: {
  maxBytes: number;
  /** whether this instance receives the request's status events now (StatusFeed.hears); if not, no fill */
  hears?: (requestId: string) => boolean;
}): ReplayCache {
  const byKey =
    opts.maxBytes > 0
      ? new LRUCache<string, ReplayRow>({
          maxSize: opts.maxBytes,
          maxEntrySize: Math.max(1, Math.floor(opts.maxBytes / MAX_ENTRY_SHARE)),
          sizeCalculation: replaySize,
          dispose: (row, key) => {
            if (keyOfId.get(row.id) === key) keyOfId.delete(row.id);
          },
        })
      : undefined;
  const keyOfId = new Map<string, string>();
  /** the event sequence number at which each recently named request last had an event */
  const recent = new LRUCache<string, number>({ max: RECENT_EVENTS });
  let seq = 0;
  let generation = 0;
  let live = true;
  const cacheKey = (tenantId: string, key: string) => `${tenantId}\u0000${key}`;
  const drop = () => {
    generation++;
    byKey?.clear();
    keyOfId.clear();
  };

  return {
    get(tenantId, key) {
      if (!live || !byKey) return undefined;
      const row = byKey.get(cacheKey(tenantId, key));
      return row?.expires_at && row.expires_at.getTime() > Date.now() ? row : undefined;
    },
    begin: () => ({ generation, seq }),
    fill(ticket, row) {
      if (!byKey || !live || ticket.generation !== generation) return false;
      // more events than `recent` remembers came meanwhile: one of them may have named this request
      if (seq - ticket.seq >= RECENT_EVENTS) return false;
      if ((recent.get(row.id) ?? -1) >= ticket.seq) return false;
      if (opts.hears && !opts.hears(row.id)) return false;
      const { payload: _p, history: _h, ...rest } = row;
      const key = cacheKey(row.tenant_id, row.idempotency_key);
      byKey.set(key, { ...rest, payload: null, history: [] });
      if (!byKey.has(key)) return false;
      keyOfId.set(row.id, key);
      return true;
    },
    invalidate(requestId) {
      recent.set(requestId, seq++);
      const key = keyOfId.get(requestId);
      if (key !== undefined) byKey?.delete(key);
    },
    drop,
    suspend() {
      live = false;
      drop();
    },
    resume() {
      drop();
      live = true;
    },
    get bytes() {
      return byKey?.calculatedSize ?? 0;
    },
    get size() {
      return byKey?.size ?? 0;
    },
  };
}
