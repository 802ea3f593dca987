import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { closePool, type Conn, openPool } from './connection-pool.ts';
import { type LoadSpec, runLoad } from './http-load.ts';

// A generator process that also follows every accepted request over the service's WebSocket
// (GET /v1/ws, Authorization on the upgrade, {"type":"subscribe","requestId"}), and times each
// request from its 202 to the push of its terminal status, on one clock.

export interface E2eOptions {
  url: string;
  secret: string;
  sockets: number;
  /** after the load: how long to wait for the last pushes */
  tailMs: number;
}

export interface PushReport {
  /** ms from the 202 to the terminal push, per request pushed */
  latencies: Float64Array;
  /** ms from sending `subscribe` to the first message about the request (its current state) */
  firstMessageMs: Float64Array;
  accepted: number;
  missing: number;
  errorMessages: Record<string, number>;
  socketsClosed: number;
}

type ParentMessage = { type: 'prepare'; spec: LoadSpec; options: E2eOptions } | { type: 'run'; startAtEpoch: number };

const ID = /"id":"([^"]+)"/;
const TERMINAL = new Set(['succeeded', 'failed']);

let spec: LoadSpec | undefined;
let options: E2eOptions | undefined;
let conns: Conn[] = [];
let sockets: WebSocket[] = [];

// the harness is gone (aborted, or done with us): nothing left to report to
process.once('disconnect', () => process.exit());

process.on('message', (msg: ParentMessage) => {
  void handle(msg).catch((err: unknown) => {
    process.send!({ type: 'failed', error: String((err as Error)?.stack ?? err) });
    process.exitCode = 1;
    process.disconnect?.();
  });
});

function openSocket(url: string, secret: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${secret}` }, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket upgrade of ${url} answered ${res.statusCode}`)));
  });
}

async function handle(msg: ParentMessage): Promise<void> {
  if (msg.type === 'prepare') {
    spec = msg.spec;
    options = msg.options;
    const pool = await openPool(spec.target, spec.connections, spec.wave, true);
    conns = pool.conns;
    sockets = await Promise.all(Array.from({ length: options.sockets }, () => openSocket(options!.url, options!.secret)));
    process.send!({ type: 'ready', ramp: pool.ramp });
    return;
  }
  if (!spec || !options) throw new Error('run before prepare');
  const acceptedAt = new Map<string, number>();
  const subscribedAt = new Map<string, number>();
  const latencies: number[] = [];
  const firstMessageMs: number[] = [];
  const errorMessages: Record<string, number> = {};
  let socketsClosed = 0;
  let allPushed: () => void = () => undefined;
  for (const ws of sockets) {
    ws.on('close', () => socketsClosed++);
    ws.on('message', (data) => {
      const now = performance.now();
      const m = JSON.parse(String(data)) as { type?: string; requestId?: string; status?: string; code?: string };
      if (m.type === 'error') errorMessages[m.code ?? '?'] = (errorMessages[m.code ?? '?'] ?? 0) + 1;
      if (!m.requestId) return;
      const sub = subscribedAt.get(m.requestId);
      if (sub !== undefined) {
        firstMessageMs.push(now - sub);
        subscribedAt.delete(m.requestId);
      }
      const accepted = acceptedAt.get(m.requestId);
      if (m.type === 'status' && TERMINAL.has(m.status ?? '') && accepted !== undefined) {
        latencies.push(now - accepted);
        acceptedAt.delete(m.requestId);
        if (acceptedAt.size === 0) allPushed();
      }
    });
  }
  let n = 0;
  const load = await runLoad(
    conns,
    spec,
    {
      onResponse(_key, r, now) {
        if (r.status !== 202 || !r.body) return;
        const id = ID.exec(r.body)?.[1];
        if (!id) return;
        acceptedAt.set(id, now);
        subscribedAt.set(id, performance.now());
        sockets[n++ % sockets.length]!.send(JSON.stringify({ type: 'subscribe', requestId: id }));
      },
    },
    msg.startAtEpoch,
  );
  const accepted = load.status['202'] ?? 0;
  if (acceptedAt.size > 0) {
    await new Promise<void>((resolve) => {
      allPushed = resolve;
      setTimeout(resolve, options!.tailMs);
    });
  }
  const push: PushReport = {
    latencies: Float64Array.from(latencies),
    firstMessageMs: Float64Array.from(firstMessageMs),
    accepted,
    missing: acceptedAt.size,
    errorMessages,
    socketsClosed,
  };
  closePool(conns);
  for (const ws of sockets) ws.terminate();
  process.send!({ type: 'result', result: { ...load, extra: push } }, () => process.disconnect?.());
}
