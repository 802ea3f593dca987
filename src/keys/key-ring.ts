import type { Kysely } from 'kysely';
import type { ApiKeyScope, Database } from '../db/database.ts';
import { type LoadedKey, loadKeys, recordKeyUses } from './api-key.repository.ts';

/** What a key grants: checked once per request, from memory. */
export interface KeyGrant {
  tenantId: string;
  scopes: readonly ApiKeyScope[];
  /** the stored key's prefix; undefined for a key from API_KEYS */
  prefix?: string;
  /** SHA-256 of the secret, base64: what the key is found by, and judged again by (Authenticator.isLive) */
  keyHash: string;
}

export interface KeyRingOptions {
  /** how often the keys are read again; a revocation reaches this instance within about this */
  refreshMs: number;
  /** how often last-used times are written */
  flushMs: number;
  /** digests of API_KEYS' secrets: a stored, revoked key among them must still be refused */
  envHashes: readonly Buffer[];
  /** a refresh or a flush that failed (Postgres away): the last known keys stay in force */
  onError(what: 'refresh' | 'flush', err: unknown): void;
  /** the first success after failures */
  onRecovered?(what: 'refresh' | 'flush'): void;
}

export interface KeyRing {
  /** The stored key with this digest (base64): live, revoked (to be refused), or undefined when unknown. */
  find(secretHash: string): LoadedKey | undefined;
  /** Notes a use of a stored key; written with the next flush, never on the request's path. */
  used(prefix: string): void;
  /** Reads the keys now; rejects if Postgres does not answer. The loop calls it; so does start-up. */
  refresh(): Promise<void>;
  /** Calls `listener` after every successful refresh (e.g. to drop sockets of revoked keys); returns its removal. */
  onRefresh(listener: () => void): () => void;
  /** Stops the loops and writes the last uses (best effort). */
  close(): Promise<void>;
}

/**
 * The stored API keys, held in memory so a request's key check costs no round trip: a background
 * loop replaces the whole map every `refreshMs`, one refresh at a time, and a failed refresh keeps
 * the last known keys (a Postgres restart causes no mass 401) and is retried at the next tick.
 * Last-used times gather in memory and are written every `flushMs` in one statement. Call
 * `refresh()` once before serving so the first requests see the stored keys.
 */
export function createKeyRing(db: Kysely<Database>, opts: KeyRingOptions): KeyRing {
  let byHash = new Map<string, LoadedKey>();
  // epoch milliseconds: no Date per request
  let uses = new Map<string, number>();
  const failing = { refresh: false, flush: false };
  let closed = false;
  const listeners = new Set<() => void>();

  const refresh = async () => {
    const keys = await loadKeys(db, opts.envHashes);
    byHash = new Map(keys.map((k) => [k.secretHash.toString('base64'), k]));
    for (const listener of listeners) listener();
  };
  const flush = async () => {
    if (uses.size === 0) return;
    const batch = uses;
    uses = new Map();
    try {
      await recordKeyUses(db, new Map([...batch].map(([prefix, at]) => [prefix, new Date(at)])));
    } catch (err) {
      // kept for the next flush unless a later use superseded it
      for (const [prefix, at] of batch) if (!uses.has(prefix)) uses.set(prefix, at);
      throw err;
    }
  };

  const timers = new Set<NodeJS.Timeout>();
  const loop = (what: 'refresh' | 'flush', run: () => Promise<void>, everyMs: number) => {
    const tick = async () => {
      timers.delete(timer);
      try {
        await run();
        if (failing[what]) opts.onRecovered?.(what);
        failing[what] = false;
      } catch (err) {
        // a tick cut short by close (the pool destroyed under it) is no failure worth a warning;
        // close does not wait for it, since a statement hung on a frozen server would hold it
        if (!closed && !failing[what]) opts.onError(what, err);
        failing[what] = true;
      }
      if (!closed) schedule();
    };
    let timer: NodeJS.Timeout;
    const schedule = () => {
      timer = setTimeout(() => void tick(), everyMs);
      timer.unref();
      timers.add(timer);
    };
    schedule();
  };
  loop('refresh', refresh, opts.refreshMs);
  loop('flush', flush, opts.flushMs);

  return {
    find: (secretHash) => byHash.get(secretHash),
    used(prefix) {
      uses.set(prefix, Date.now());
    },
    refresh,
    onRefresh(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      await flush().catch((err) => opts.onError('flush', err));
    },
  };
}
