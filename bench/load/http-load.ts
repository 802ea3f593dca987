import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { type Conn, openConnection, type RampReport, type Target } from './connection-pool.ts';
import { createFifo } from './fifo.ts';
import { createRequestSource, type RequestPlan, type Shard } from './request-plan.ts';
import type { ParsedResponse } from './response-parser.ts';

export type LoadMode =
  /** open loop: request i is due at t0 + i/rate whatever the latency; latency counts from that slot */
  | { kind: 'rate'; rate: number; durationMs: number }
  /** closed loop: every connection sends its next request as soon as the previous one is answered */
  | { kind: 'closed'; durationMs: number }
  /** all `total` requests are due at t0 and go out as fast as connections free up */
  | { kind: 'burst'; total: number };

export interface LoadSpec {
  target: Target;
  connections: number;
  /** connections opened (and warmed) per wave before the next wave starts */
  wave: number;
  mode: LoadMode;
  plan: RequestPlan;
  shard: Shard;
  /** keep response bodies to collect the request id answered for each key */
  keepBodies: boolean;
  /** a request unanswered this long after it was written is counted as a timeout */
  timeoutMs: number;
}

export interface LoadResult {
  /** wall clock of t0, to merge the results of several generator processes */
  t0Epoch: number;
  /** from t0 to the last answer */
  elapsedMs: number;
  planned: number;
  sent: number;
  answered: number;
  status: Record<string, number>;
  errors: { timeout: number; reset: number; unsent: number; reconnectFailed: number };
  /** per answered request, ms from its due time (open loop) or its send (closed loop) */
  latencies: Float64Array;
  /** distinct request ids answered per key (keepBodies only) */
  ids: Record<string, string[]>;
  ramp?: RampReport;
  /** what a specialised generator process adds (the WebSocket client's push timings) */
  extra?: unknown;
  generator: { cpuPct: number; loopDelayP99Ms: number; loopDelayMaxMs: number; maxWaiting: number };
}

export interface LoadHooks {
  /** called for every answer, after it is recorded */
  onResponse?(key: string, response: ParsedResponse, now: number): void;
}

const ID_FIELD = /"id":"([^"]+)"/;

/**
 * Drives one pool of open connections through a load mode and records every answer. Requests that
 * find no idle connection wait in the generator, and their wait is part of their latency, so a slow
 * server cannot slow the offered rate down unnoticed (no coordinated omission).
 */
export async function runLoad(conns: Conn[], spec: LoadSpec, hooks: LoadHooks = {}, startAtEpoch = Date.now()): Promise<LoadResult> {
  const source = createRequestSource(spec.plan, spec.shard, `${spec.target.host}:${spec.target.port}`);
  const mode = spec.mode;
  const planned = mode.kind === 'rate' ? Math.round((mode.rate * mode.durationMs) / 1000) : mode.kind === 'burst' ? mode.total : Infinity;
  const latencies: number[] = [];
  const status: Record<string, number> = {};
  const ids = new Map<string, Set<string>>();
  const errors = { timeout: 0, reset: 0, unsent: 0, reconnectFailed: 0 };
  const idle = createFifo<Conn>();
  const waiting = createFifo<{ intended: number; i: number }>();
  let maxWaiting = 0;
  let next = 0;
  let sent = 0;
  let answered = 0;
  let inFlight = 0;
  let lastAnswer = 0;
  let schedulingDone = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  await new Promise((r) => setTimeout(r, Math.max(0, startAtEpoch - Date.now())));
  const t0Epoch = Date.now();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();

  const send = (conn: Conn, intended: number, i: number) => {
    const req = source(i);
    conn.busy = true;
    conn.intended = intended;
    conn.key = req.key;
    conn.sentAt = performance.now();
    inFlight++;
    sent++;
    conn.socket.write(req.raw);
  };
  const checkDone = () => {
    if (schedulingDone && inFlight === 0 && waiting.size === 0) finish();
  };
  const release = (conn: Conn) => {
    const w = waiting.shift();
    if (w) return send(conn, w.intended, w.i);
    if (mode.kind === 'closed' && !schedulingDone) return send(conn, performance.now(), next++);
    idle.push(conn);
    checkDone();
  };
  const dispatch = (intended: number, i: number) => {
    let conn = idle.shift();
    while (conn && !conn.alive) conn = idle.shift();
    if (conn) return send(conn, intended, i);
    waiting.push({ intended, i });
    if (waiting.size > maxWaiting) maxWaiting = waiting.size;
  };
  const reconnect = async (old: Conn) => {
    const o = await openConnection(spec.target, spec.keepBodies);
    if (!o) {
      errors.reconnectFailed++;
      return checkDone();
    }
    adopt(o.conn);
    const at = conns.indexOf(old);
    if (at >= 0) conns[at] = o.conn;
    release(o.conn);
  };
  function adopt(conn: Conn) {
    conn.onResponse = (r) => {
      const now = performance.now();
      latencies.push(now - conn.intended);
      status[r.status] = (status[r.status] ?? 0) + 1;
      if (r.body !== undefined) {
        const id = ID_FIELD.exec(r.body)?.[1] ?? '(none)';
        let set = ids.get(conn.key);
        if (!set) ids.set(conn.key, (set = new Set()));
        set.add(id);
      }
      answered++;
      inFlight--;
      conn.busy = false;
      lastAnswer = now;
      hooks.onResponse?.(conn.key, r, now);
      if (r.close) conn.socket.end();
      else release(conn);
    };
    conn.onClose = () => {
      if (conn.busy) {
        conn.busy = false;
        inFlight--;
        errors.reset++;
      }
      if (!stopped) void reconnect(conn);
    };
  }
  let stopped = false;
  for (const conn of conns) {
    adopt(conn);
    if (conn.alive) idle.push(conn);
  }

  const sweep = setInterval(() => {
    const now = performance.now();
    for (const conn of conns) {
      if (conn.busy && now - conn.sentAt > spec.timeoutMs) {
        conn.busy = false;
        inFlight--;
        errors.timeout++;
        conn.socket.destroy();
      }
    }
    checkDone();
  }, 100);

  if (mode.kind === 'burst') {
    for (let i = 0; i < planned; i++) dispatch(t0, i);
    next = planned;
    schedulingDone = true;
  } else if (mode.kind === 'closed') {
    const starters: Conn[] = [];
    for (let c = idle.shift(); c; c = idle.shift()) starters.push(c);
    for (const c of starters) send(c, performance.now(), next++);
    setTimeout(() => (schedulingDone = true), mode.durationMs);
  } else {
    const interval = 1000 / mode.rate;
    const tick = () => {
      const due = Math.min(planned, Math.floor((performance.now() - t0) / interval) + 1);
      for (; next < due; next++) dispatch(t0 + next * interval, next);
      if (next < planned) setTimeout(tick, 1);
      else schedulingDone = true;
    };
    tick();
  }
  const schedulingMs = mode.kind === 'burst' ? 0 : mode.durationMs;
  const deadline = setTimeout(finish, schedulingMs + spec.timeoutMs + 2_000);
  await finished;
  stopped = true;
  clearTimeout(deadline);
  clearInterval(sweep);
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  errors.unsent = waiting.size;
  const elapsedMs = (lastAnswer || performance.now()) - t0;
  return {
    t0Epoch,
    elapsedMs,
    planned: Number.isFinite(planned) ? planned : sent,
    sent,
    answered,
    status,
    errors,
    latencies: Float64Array.from(latencies),
    ids: Object.fromEntries([...ids].map(([k, v]) => [k, [...v]])),
    generator: {
      cpuPct: ((cpu.user + cpu.system) / 1000 / Math.max(1, performance.now() - t0)) * 100,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      loopDelayMaxMs: loop.max / 1e6,
      maxWaiting,
    },
  };
}
