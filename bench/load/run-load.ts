import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnNode, stopChild } from '../spawn.ts';
import type { RampReport } from './connection-pool.ts';
import type { LoadResult, LoadSpec } from './http-load.ts';

const SCRIPT = fileURLToPath(new URL('./load-process.ts', import.meta.url));

export interface MergedLoad extends Omit<LoadResult, 'ramp' | 'generator' | 't0Epoch' | 'extra'> {
  processes: number;
  /** the `extra` of each generator process */
  extras: unknown[];
  ramp?: RampReport;
  /** per generator process */
  generators: LoadResult['generator'][];
}

type ChildMessage = { type: 'ready'; ramp: RampReport } | { type: 'result'; result: LoadResult } | { type: 'failed'; error: string };

/**
 * Runs a load spec in `processes` generator processes (connections and rate split evenly, keys
 * sharded), all starting at the same instant once every one has opened its connections.
 */
export async function runLoadProcesses(
  spec: LoadSpec,
  processes = 1,
  hooks: { onRun?(): void; onDone?(): void } = {},
  /** another generator script speaking the same protocol, and its own options */
  custom?: { script: string; options: unknown },
): Promise<MergedLoad> {
  const children: ChildProcess[] = [];
  const inbox: ((m: ChildMessage) => void)[] = [];
  const next = (i: number) => new Promise<ChildMessage>((resolve) => (inbox[i] = resolve));
  try {
    const shards = Array.from({ length: processes }, (_, index): LoadSpec => {
      const mode = spec.mode;
      const part = (n: number) => Math.floor(n / processes) + (index < n % processes ? 1 : 0);
      return {
        ...spec,
        connections: part(spec.connections),
        wave: Math.max(1, part(spec.wave)),
        shard: { index, count: processes },
        mode:
          mode.kind === 'rate'
            ? { ...mode, rate: mode.rate / processes }
            : mode.kind === 'burst'
              ? { ...mode, total: part(mode.total) }
              : mode,
      };
    });
    const ready = shards.map((s, i) => {
      const child = spawnNode(custom?.script ?? SCRIPT, { ipc: true });
      children.push(child);
      child.on('message', (m: ChildMessage) => inbox[i]?.(m));
      child.on('exit', (code) => inbox[i]?.({ type: 'failed', error: `generator exited with code ${code}` }));
      const p = next(i);
      child.send({ type: 'prepare', spec: s, options: custom?.options });
      return p;
    });
    const ramps = await Promise.all(ready);
    for (const m of ramps) if (m.type !== 'ready') throw new Error(`generator failed: ${m.type === 'failed' ? m.error : m.type}`);
    hooks.onRun?.();
    const results = children.map((c, i) => {
      const p = next(i);
      c.send({ type: 'run', startAtEpoch: Date.now() + 100 });
      return p;
    });
    const done = await Promise.all(results);
    hooks.onDone?.();
    const loads = done.map((m) => {
      if (m.type !== 'result') throw new Error(`generator failed: ${m.type === 'failed' ? m.error : m.type}`);
      return m.result;
    });
    return merge(
      loads,
      ramps.map((m) => (m as { ramp: RampReport }).ramp),
    );
  } finally {
    await Promise.all(children.map((c) => stopChild(c, 2_000)));
  }
}

function merge(loads: LoadResult[], ramps: RampReport[]): MergedLoad {
  const start = Math.min(...loads.map((l) => l.t0Epoch));
  const sum = (f: (l: LoadResult) => number) => loads.reduce((a, l) => a + f(l), 0);
  const status: Record<string, number> = {};
  const ids: Record<string, string[]> = {};
  for (const l of loads) {
    for (const [code, n] of Object.entries(l.status)) status[code] = (status[code] ?? 0) + n;
    for (const [key, list] of Object.entries(l.ids)) ids[key] = [...new Set([...(ids[key] ?? []), ...list])];
  }
  const latencies = new Float64Array(sum((l) => l.latencies.length));
  let at = 0;
  for (const l of loads) {
    latencies.set(l.latencies, at);
    at += l.latencies.length;
  }
  return {
    processes: loads.length,
    extras: loads.map((l) => l.extra),
    elapsedMs: Math.max(...loads.map((l) => l.t0Epoch - start + l.elapsedMs)),
    planned: sum((l) => l.planned),
    sent: sum((l) => l.sent),
    answered: sum((l) => l.answered),
    status,
    errors: {
      timeout: sum((l) => l.errors.timeout),
      reset: sum((l) => l.errors.reset),
      unsent: sum((l) => l.errors.unsent),
      reconnectFailed: sum((l) => l.errors.reconnectFailed),
    },
    latencies,
    ids,
    ramp: {
      requested: ramps.reduce((a, r) => a + r.requested, 0),
      opened: ramps.reduce((a, r) => a + r.opened, 0),
      failed: ramps.reduce((a, r) => a + r.failed, 0),
      wave: ramps.reduce((a, r) => a + r.wave, 0),
      durationMs: Math.max(...ramps.map((r) => r.durationMs)),
      connectMs: ramps.flatMap((r) => r.connectMs),
      firstResponseMs: ramps.flatMap((r) => r.firstResponseMs),
    },
    generators: loads.map((l) => l.generator),
  };
}
