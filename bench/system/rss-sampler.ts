import { readFileSync } from 'node:fs';

export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's resident set size from /proc/<pid>/status every `intervalMs`. */
export function startRssSampler(pid: number, intervalMs: number) {
  const t0 = Date.now();
  const samples: { s: number; mb: number }[] = [];
  const take = () => {
    const mb = rssMb(pid);
    if (mb !== undefined) samples.push({ s: (Date.now() - t0) / 1000, mb });
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}
