import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingUpstream {
  url: string;
  /** effects applied per Idempotency-Key: it dedupes, so never more than 1 */
  effects: Map<string, number>;
  /** attempts received per key (same-key retries beyond the first included) */
  attempts: Map<string, number>;
  /** attempts that arrived while another attempt of the same key was still open */
  overlaps: number;
  /** attempts of a key whose effect was already applied: answered again, not applied again */
  deduped: number;
  close(): Promise<void>;
}

/**
 * The chaos run's upstream, in the chaos process itself (never killed): it applies each key's
 * effect once and answers a key it has seen with its first answer, as idemq asks of an upstream.
 * To make idemq retry, it answers 503 (with Retry-After: 1 half of the time) to a share of
 * attempts, and answers some only after `slowMs`, past the route's timeout.
 */
export async function startCountingUpstream(opts: { failShare: number; slowShare: number; slowMs: number }): Promise<CountingUpstream> {
  const effects = new Map<string, number>();
  const attempts = new Map<string, number>();
  const open = new Map<string, number>();
  const state = { overlaps: 0, deduped: 0 };
  const server = createServer((req, res) => {
    const key = String(req.headers['idempotency-key'] ?? '');
    attempts.set(key, (attempts.get(key) ?? 0) + 1);
    if ((open.get(key) ?? 0) > 0) state.overlaps++;
    open.set(key, (open.get(key) ?? 0) + 1);
    let closed = false;
    res.on('close', () => {
      closed = true;
      open.set(key, open.get(key)! - 1);
    });
    req.resume();
    req.on('end', () => {
      const roll = Math.random();
      if (roll < opts.failShare) {
        res.writeHead(503, Math.random() < 0.5 ? { 'retry-after': '1' } : {});
        res.end();
        return;
      }
      const answer = () => {
        if (closed) return; // the caller gave up: its answer is lost, the effect (if new) stands
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ effect: effects.get(key) }));
      };
      if (effects.has(key)) state.deduped++;
      else effects.set(key, 1);
      if (roll < opts.failShare + opts.slowShare) setTimeout(answer, opts.slowMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    effects,
    attempts,
    get overlaps() {
      return state.overlaps;
    },
    get deduped() {
      return state.deduped;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
