import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';

/** Linux routes all of 127.0.0.0/8 on lo: a client bound to one of these is another address to the server. */
export const ATTACKER = '127.0.0.2';
export const TENANT_ADDRESS = '127.0.0.3';
export const BYSTANDER = '127.0.0.4';

export interface RawClient {
  socket: Socket;
  received(): string;
  /** resolves when the socket closes */
  closed: Promise<void>;
  isClosed(): boolean;
}

/** A raw TCP client from `localAddress` to 127.0.0.1:`port`; resolves once connected (a socket the server destroys at once still connects). */
export function rawClientFrom(localAddress: string, port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    let data = '';
    let done = false;
    const closed = new Promise<void>((r) => socket.once('close', () => ((done = true), r())));
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed, isClosed: () => done }));
    socket.once('error', reject);
  });
}

export interface Answer {
  status: number;
  body: string;
  ms: number;
}

/** One HTTP request from `localAddress`, on a connection of its own; rejects on a socket error or after `timeoutMs`. */
export function requestFrom(
  localAddress: string,
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number },
): Promise<Answer> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: opts.method ?? 'GET',
        path: opts.path,
        headers: { connection: 'close', ...opts.headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - start }));
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}
