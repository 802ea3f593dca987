import type { Authenticator } from './auth.ts';

/** One connection held open for a key; `signal` aborts if the key is revoked while it is held. */
export interface KeyHold {
  signal: AbortSignal;
  /** Ends the registration (a second call does nothing); call it whenever the connection ends. */
  release(): void;
}

/**
 * Every connection held open on behalf of an API key in this process (WebSocket, event stream,
 * held long-poll, `Prefer: wait`), by the key's digest. After each refresh of the stored keys the
 * holds of a key that is no longer live are aborted, so a revoked key keeps nothing open past
 * the next refresh: each route ends its connection on that signal.
 */
export function createKeyHolds(auth: Pick<Authenticator, 'isLive' | 'onKeysChanged'>) {
  const byKey = new Map<string, Set<AbortController>>();
  const stopWatching = auth.onKeysChanged(() => {
    for (const [keyHash, holds] of byKey) {
      if (auth.isLive(keyHash)) continue;
      byKey.delete(keyHash);
      for (const hold of holds) hold.abort(new Error('api key revoked'));
    }
  });
  return {
    hold(keyHash: string): KeyHold {
      const controller = new AbortController();
      let holds = byKey.get(keyHash);
      if (!holds) byKey.set(keyHash, (holds = new Set()));
      holds.add(controller);
      return {
        signal: controller.signal,
        release() {
          const current = byKey.get(keyHash);
          if (!current?.delete(controller) || current.size > 0) return;
          byKey.delete(keyHash);
        },
      };
    },
    close: stopWatching,
  };
}

export type KeyHolds = ReturnType<typeof createKeyHolds>;
