import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the test upstream answers one attempt. */
export type Behaviour =
  /**
   * an answer; a 2xx applies the effect once per key (a replay of the key gets the first answer
   * back); with `after`, the answer waits until it settles
   */
  | { status: number; headers?: Record<string, string>; body?: unknown; after?: Promise<unknown> }
  /** never answers: the caller must give up (its timeout); ends when the caller closes the socket */
  | { hang: true }
  /** reads the request, then destroys the socket without an answer */
  | { drop: true };

export interface Attempt {
  key: string | undefined;
  requestId: string | undefined;
  tenant: string | undefined;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** Date.now() when the request arrived, and when it ended (answered, dropped, or the caller went away) */
  at: number;
  endedAt?: number;
  /** the attempts of the same key in flight when this one arrived (0: none overlapped it) */
  overlapping: number;
}

export interface UpstreamServer {
  url: string;
  attempts: Attempt[];
  attemptsOf(key: string): Attempt[];
  /** effects applied by key: at most 1 each, since it dedupes by Idempotency-Key */
  effects: Map<string, number>;
  /** the most attempts of one key ever in flight at once */
  maxOverlap: number;
  /** how to answer the n-th attempt (1-based) of a key; by default 201 with `{ effect: <n> }` */
  behave(fn: (attempt: Attempt, n: number) => Behaviour): void;
  close(): Promise<void>;
}

/**
 * A real HTTP upstream on 127.0.0.1, port 0, that records every attempt, dedupes effects by
 * Idempotency-Key (as docs/gateway.md asks of an upstream), and answers as the test tells it.
 */
export async function startUpstreamServer(): Promise<UpstreamServer> {
  const attempts: Attempt[] = [];
  const effects = new Map<string, number>();
  const firstAnswers = new Map<string, { status: number; headers?: Record<string, string>; body?: unknown }>();
  const inFlight = new Map<string, number>();
  let behaviour: (attempt: Attempt, n: number) => Behaviour = () => ({ status: 201 });
  const state = { maxOverlap: 0 };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const key = header(req, 'idempotency-key');
    const flightKey = key ?? '';
    const overlapping = inFlight.get(flightKey) ?? 0;
    inFlight.set(flightKey, overlapping + 1);
    state.maxOverlap = Math.max(state.maxOverlap, overlapping + 1);
    const attempt: Attempt = {
      key,
      requestId: header(req, 'idemq-request-id'),
      tenant: header(req, 'idemq-tenant'),
      headers: req.headers,
      body: text === '' ? undefined : JSON.parse(text),
      at: Date.now(),
      overlapping,
    };
    attempts.push(attempt);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      attempt.endedAt = Date.now();
      inFlight.set(flightKey, (inFlight.get(flightKey) ?? 1) - 1);
    };
    res.on('close', end);
    const n = attempts.filter((a) => a.key === key).length;
    const b = behaviour(attempt, n);
    if ('hang' in b) return;
    if ('drop' in b) {
      end();
      req.socket.destroy();
      return;
    }
    await b.after;
    let answer = b;
    if (b.status >= 200 && b.status < 300 && key !== undefined) {
      const first = firstAnswers.get(key);
      if (first) answer = first;
      else {
        firstAnswers.set(key, b);
        effects.set(key, (effects.get(key) ?? 0) + 1);
      }
    }
    const body = answer.body === undefined ? { effect: effects.get(key ?? '') ?? 0 } : answer.body;
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    end();
    res.writeHead(answer.status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...answer.headers });
    res.end(raw);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.statusCode = 599;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    attempts,
    attemptsOf: (key) => attempts.filter((a) => a.key === key),
    effects,
    get maxOverlap() {
      return state.maxOverlap;
    },
    behave(fn) {
      behaviour = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
