import { createServer, connect, type Socket } from 'node:net';

export interface TcpProxy {
  /** the local port the proxy listens on (127.0.0.1) */
  readonly port: number;
  /** Simulates an outage: destroys every open connection and drops each new one at once. */
  cut(): void;
  /**
   * Simulates a service that hangs: open connections stay open but nothing more passes either
   * way, and new connections are accepted and held without an answer.
   */
  freeze(): void;
  /**
   * The open connections go silent both ways and stay open, as when a NAT or a proxy forgets them;
   * new connections pass as usual.
   */
  stall(): void;
  /** Ends the outage: new connections are piped to the target again (a freeze's held ones are dropped). */
  restore(): void;
  /**
   * Loses the next `count` answers: the client's bytes reach the target, but as soon as the
   * target's first bytes of an answer arrive, that connection is destroyed on both sides. The
   * target did the work; the client never hears of it.
   */
  dropAnswers(count: number): void;
  /** New connections go to `target` from now on (open ones stay where they are): a load balancer's next pick. */
  retarget(target: { host: string; port: number }): void;
  /** connections accepted so far */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1:0 in front of a shared service, so a test can cut its own path to
 * Postgres or Redis without stopping the service other test runs use.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const held = new Set<Socket>();
  const stalled = new WeakSet<Socket>();
  let down = false;
  let frozen = false;
  let answersToDrop = 0;
  let current = target;
  let connections = 0;
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    // a reset is the point of an outage; a listener keeps it from becoming an uncaught error
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    connections++;
    track(client);
    if (down) return void client.destroy();
    if (frozen) {
      held.add(client);
      client.on('close', () => held.delete(client));
      client.resume(); // read and drop whatever it sends, as a hung server's kernel would buffer it
      return;
    }
    const upstream = connect(current.port, current.host);
    track(upstream);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('close', () => {
      pairs.delete(pair);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (frozen || stalled.has(upstream)) return;
      if (answersToDrop > 0) {
        answersToDrop--;
        client.destroy();
        upstream.destroy();
        return;
      }
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => frozen || stalled.has(upstream) || upstream.resume());
      }
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('tcp proxy: no port assigned');
  const destroyAll = () => {
    for (const socket of open) socket.destroy();
  };
  return {
    port: address.port,
    cut() {
      down = true;
      destroyAll();
    },
    freeze() {
      frozen = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        client.pause();
        upstream.pause();
      }
    },
    stall() {
      for (const [client, upstream] of pairs) {
        stalled.add(upstream);
        client.unpipe(upstream);
        client.pause();
        upstream.pause();
      }
    },
    restore() {
      down = false;
      if (frozen) {
        frozen = false;
        // a frozen stream cannot resume where it stopped: its peers reconnect
        for (const [client] of pairs) client.destroy();
        for (const client of held) client.destroy();
      }
    },
    retarget(next) {
      current = next;
    },
    dropAnswers(count) {
      answersToDrop = count;
    },
    get connections() {
      return connections;
    },
    async close() {
      destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The same URL with its host and port replaced by the proxy's. */
export function viaProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}
