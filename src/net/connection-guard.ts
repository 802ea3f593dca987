import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { BlockList, isIP, isIPv4, type Socket } from 'node:net';
import { addressKey, plainAddress } from './client-address.ts';

export interface ConnectionCaps {
  /** open sockets at once, whoever holds them */
  maxConnections: number;
  /** open sockets one address (an IPv6 /64) may hold */
  maxPerAddress: number;
  /** peers the per-address cap spares (TRUSTED_PROXIES: a balancer holds its clients' sockets) */
  exempt?: readonly string[];
  /** the server hands upgrades (WebSocket) to an `upgrade` listener: a socket upgraded is never idle */
  upgrades?: boolean;
}

interface Peer {
  open: number;
  /** its sockets between two requests, the longest idle first (insertion order) */
  idle: Set<Socket>;
}

interface Connection {
  peer: Peer;
  inFlight: number;
  upgraded: boolean;
}

/** share of maxConnections one reclaim closes at most, so a burst at the cap scans the peers once, not per arrival */
const RECLAIM_SHARE = 0.01;

/**
 * Caps the sockets `server` keeps open, on its `connection` event (the peer's real address, never
 * X-Forwarded-For): a socket past its address's cap is destroyed on arrival, unanswered. At the
 * total cap an arrival first reclaims idle keep-alive sockets (between two requests; never one with
 * a request in flight, an SSE stream, a WebSocket, or one that has not finished its first request,
 * which the headers deadline bounds), those of the addresses holding the most sockets first, the
 * longest idle first; it is refused only when none is idle. Replaces Node's `maxConnections`,
 * which refuses before any listener could reclaim. Returns the counts, for metrics and tests.
 */
export function guardConnections(server: Server, caps: ConnectionCaps) {
  const peers = new Map<string, Peer>();
  const connections = new Map<Socket, Connection>();
  const exempt = blockListOf(caps.exempt ?? []);
  const reclaimBatch = Math.max(1, Math.floor(caps.maxConnections * RECLAIM_SHARE));
  let idleTotal = 0;
  const refused = { perAddress: 0, total: 0 };
  let reclaimed = 0;

  const setIdle = (socket: Socket, conn: Connection, idle: boolean) => {
    if (idle && !conn.peer.idle.has(socket)) idleTotal++;
    if (!idle && conn.peer.idle.has(socket)) idleTotal--;
    conn.peer.idle.delete(socket);
    if (idle) conn.peer.idle.add(socket);
  };

  const forget = (socket: Socket, key: string) => {
    const conn = connections.get(socket);
    if (!conn) return;
    connections.delete(socket);
    setIdle(socket, conn, false);
    if (--conn.peer.open === 0) peers.delete(key);
  };

  const reclaim = (): boolean => {
    if (idleTotal === 0) return false;
    const holders = [...peers.entries()].filter(([, p]) => p.idle.size > 0).sort(([, a], [, b]) => b.open - a.open);
    let closed = 0;
    for (const [key, peer] of holders) {
      for (const socket of peer.idle) {
        if (closed === reclaimBatch) break;
        forget(socket, key);
        socket.destroy();
        closed++;
      }
    }
    reclaimed += closed;
    return closed > 0;
  };

  server.on('connection', (socket: Socket) => {
    const ip = plainAddress(socket.remoteAddress ?? '');
    const key = addressKey(ip);
    const peer = peers.get(key);
    if (peer && peer.open >= caps.maxPerAddress && !(isIP(ip) && exempt.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6'))) {
      refused.perAddress++;
      socket.destroy();
      return;
    }
    if (connections.size >= caps.maxConnections && !reclaim()) {
      refused.total++;
      socket.destroy();
      return;
    }
    const own = peers.get(key) ?? { open: 0, idle: new Set<Socket>() };
    peers.set(key, own);
    own.open++;
    connections.set(socket, { peer: own, inFlight: 0, upgraded: false });
    socket.once('close', () => forget(socket, key));
  });

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    const conn = connections.get(socket);
    if (!conn) return;
    conn.inFlight++;
    setIdle(socket, conn, false);
    response.once('close', () => {
      conn.inFlight--;
      if (conn.inFlight === 0 && !conn.upgraded && !socket.destroyed && connections.has(socket)) setIdle(socket, conn, true);
    });
  });

  // only where upgrades are handled: a listener of its own would take them from Node's default
  if (caps.upgrades) {
    server.on('upgrade', (request: IncomingMessage) => {
      const conn = connections.get(request.socket);
      if (!conn) return;
      conn.upgraded = true;
      setIdle(request.socket, conn, false);
    });
  }

  return {
    open: () => connections.size,
    idle: () => idleTotal,
    /** sockets destroyed on arrival, by the cap that refused them, and idle ones closed to make room */
    stats: () => ({ refused: { ...refused }, reclaimed }),
  };
}

export type ConnectionGuard = ReturnType<typeof guardConnections>;

function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = isIPv4(address!) ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address!, family);
    else list.addSubnet(address!, Number(bits), family);
  }
  return list;
}
