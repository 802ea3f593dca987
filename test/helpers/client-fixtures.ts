import type { FastifyInstance } from 'fastify';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export interface Attempt {
  at: number;
  method: string;
  url: string;
  idempotencyKey: string | undefined;
  status?: number;
  retryAfter?: string | null;
  error?: string;
}

/** A fetch that records each attempt the client makes (its key, and the answer's status or the error), then passes it on. */
export function recordingFetch(attempts: Attempt[] = []): { fetch: typeof fetch; attempts: Attempt[] } {
  const recorded: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const attempt: Attempt = {
      at: performance.now(),
      method: init?.method ?? 'GET',
      url: String(input),
      idempotencyKey: headers.get('idempotency-key') ?? undefined,
    };
    attempts.push(attempt);
    try {
      const res = await fetch(input, init);
      attempt.status = res.status;
      attempt.retryAfter = res.headers.get('retry-after');
      return res;
    } catch (err) {
      attempt.error = String((err as Error).cause ?? err);
      throw err;
    }
  };
  return { fetch: recorded, attempts };
}

/** Listens on a loopback port and puts a TCP proxy in front; counts the WebSocket upgrades the app receives. */
export async function listenBehindProxy(
  app: FastifyInstance,
): Promise<{ proxy: TcpProxy; baseUrl: string; port: number; sockets: () => number }> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  let sockets = 0;
  // an observer beside @fastify/websocket's own listener: each WebSocket the client opens
  app.server.on('upgrade', (request: { url?: string }) => request.url?.startsWith('/v1/ws') && sockets++);
  const proxy = await startTcpProxy({ host: '127.0.0.1', port });
  return { proxy, port, baseUrl: `http://127.0.0.1:${proxy.port}`, sockets: () => sockets };
}
