import type { Target } from '../load/connection-pool.ts';

/** What the memory run reads from the API's own GET /metrics (prom-client default metrics). */
export interface HeapSample {
  s: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  /** requests that long-polls, WebSockets or SSE streams wait on: should return to zero */
  watched: number;
}

function metric(text: string, suffix: string): number {
  const m = new RegExp(`^\\w*${suffix}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * Samples the API's heap through GET /metrics every `intervalMs`; an API without the endpoint
 * (404) just yields no samples. One GET every few seconds is negligible next to the load.
 */
export function startHeapSampler(target: Target, intervalMs: number) {
  const t0 = Date.now();
  const samples: HeapSample[] = [];
  let available = true;
  const take = async () => {
    if (!available) return;
    const res = await fetch(`http://${target.host}:${target.port}/metrics`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (!res?.ok) {
      available = res?.status !== 404;
      return;
    }
    const text = await res.text();
    samples.push({
      s: (Date.now() - t0) / 1000,
      heapUsedMb: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
      heapTotalMb: metric(text, 'nodejs_heap_size_total_bytes') / 2 ** 20,
      externalMb: metric(text, 'nodejs_external_memory_bytes') / 2 ** 20,
      watched: metric(text, 'idemq_status_watched_requests'),
    });
  };
  void take();
  const timer = setInterval(() => void take(), intervalMs);
  return {
    stop: async (): Promise<HeapSample[]> => {
      clearInterval(timer);
      await take();
      return samples;
    },
  };
}
