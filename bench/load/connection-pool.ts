import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { healthRequest } from './request-plan.ts';
import { createResponseParser, type ParsedResponse } from './response-parser.ts';

export interface Target {
  host: string;
  port: number;
}

/** One keep-alive connection; the runner owns its callbacks once the pool is open. */
export interface Conn {
  socket: net.Socket;
  alive: boolean;
  busy: boolean;
  /** when the request in flight was due (open loop: its slot in the schedule) */
  intended: number;
  sentAt: number;
  key: string;
  onResponse(r: ParsedResponse): void;
  onClose(): void;
}

export interface RampReport {
  requested: number;
  opened: number;
  failed: number;
  wave: number;
  durationMs: number;
  /** per connection: TCP connect, then connect plus the first (warm-up) request */
  connectMs: number[];
  firstResponseMs: number[];
}

const OPEN_TIMEOUT_MS = 15_000;

/**
 * Opens a connection and proves the server has accepted it with a warm-up `GET /healthz`: on an
 * overflowing accept queue the TCP handshake completes client-side while the server never saw it,
 * so only the first answer tells. Resolves undefined on failure or after OPEN_TIMEOUT_MS.
 */
export function openConnection(
  target: Target,
  keepBodies: boolean,
): Promise<{ conn: Conn; connectMs: number; firstMs: number } | undefined> {
  return new Promise((resolve) => {
    const started = performance.now();
    let connectMs = NaN;
    const socket = net.connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const conn: Conn = {
      socket,
      alive: true,
      busy: false,
      intended: 0,
      sentAt: 0,
      key: '',
      onResponse: () => {
        clearTimeout(timer);
        resolve({ conn, connectMs, firstMs: performance.now() - started });
      },
      onClose: () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    };
    const parser = createResponseParser(keepBodies, (r) => conn.onResponse(r));
    const timer = setTimeout(() => socket.destroy(), OPEN_TIMEOUT_MS);
    socket.on('connect', () => {
      connectMs = performance.now() - started;
      socket.write(healthRequest(`${target.host}:${target.port}`));
    });
    socket.on('data', (chunk) => {
      try {
        parser.push(chunk as Buffer); // no setEncoding on this socket: always a Buffer
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => undefined); // 'close' follows and is the one place that reacts
    socket.on('close', () => {
      conn.alive = false;
      conn.onClose();
    });
  });
}

/** Opens `count` connections in waves of `wave`, each wave accepted by the server before the next. */
export async function openPool(
  target: Target,
  count: number,
  wave: number,
  keepBodies: boolean,
): Promise<{ conns: Conn[]; ramp: RampReport }> {
  const started = performance.now();
  const conns: Conn[] = [];
  const ramp: RampReport = { requested: count, opened: 0, failed: 0, wave, durationMs: 0, connectMs: [], firstResponseMs: [] };
  for (let done = 0; done < count; done += wave) {
    const opened = await Promise.all(Array.from({ length: Math.min(wave, count - done) }, () => openConnection(target, keepBodies)));
    for (const o of opened) {
      if (!o) {
        ramp.failed++;
        continue;
      }
      conns.push(o.conn);
      ramp.connectMs.push(o.connectMs);
      ramp.firstResponseMs.push(o.firstMs);
    }
  }
  ramp.opened = conns.length;
  ramp.durationMs = performance.now() - started;
  return { conns, ramp };
}

export function closePool(conns: readonly Conn[]): void {
  for (const c of conns) c.socket.destroy();
}
