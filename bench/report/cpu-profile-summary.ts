import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CpuProfileSummary {
  file: string;
  durationS: number;
  /** share of the profile the process was idle (waiting on I/O) */
  idlePct: number;
  /** functions by self time, in percent of busy (non-idle) time; for native ones, the packages that called them */
  top: { name: string; where: string; selfPct: number; calledFrom?: Record<string, number> }[];
  /** by code area (a package, node internals, the service's own code), self and inclusive */
  areas: { area: string; selfPct: number; inclusivePct: number }[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Where a frame's code lives: an npm package, a node: module, the service itself, or V8. */
export function areaOf(url: string, name: string): string {
  if (!url) return SPECIAL.has(name) ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  if (/\/(src|workers)\//.test(url)) return 'idemq';
  return url;
}

function short(url: string): string {
  const i = url.search(/node_modules\/|\/(src|workers)\//);
  return (i >= 0 ? url.slice(i).replace(/^node_modules\//, '') : url).replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, p: CpuProfile): CpuProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const areasOnStack = new Map<number, Set<string>>();
  const stackAreas = (id: number): Set<string> => {
    let s = areasOnStack.get(id);
    if (s) return s;
    const n = byId.get(id)!;
    const up = parent.get(id);
    s = new Set(up === undefined ? [] : stackAreas(up));
    s.add(areaOf(n.callFrame.url, n.callFrame.functionName));
    areasOnStack.set(id, s);
    return s;
  };
  // the nearest frame that belongs to a package or the service: who really asked for a native call
  const callerArea = (id: number): string => {
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const f = byId.get(up)!.callFrame;
      const a = areaOf(f.url, f.functionName);
      if (!a.startsWith('node:') && !a.startsWith('(')) return a;
    }
    return '(none)';
  };
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  }
  let idle = 0;
  let total = 0;
  const fn = new Map<string, { name: string; where: string; us: number; callers: Map<string, number> }>();
  const areaSelf = new Map<string, number>();
  const areaIncl = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    total += us;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const name = functionName || '(anonymous)';
    const where = url ? `${short(url)}:${lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const f = fn.get(key) ?? { name, where, us: 0, callers: new Map<string, number>() };
    f.us += us;
    if (!url) {
      const caller = callerArea(id);
      f.callers.set(caller, (f.callers.get(caller) ?? 0) + us);
    }
    fn.set(key, f);
    const area = areaOf(url, functionName);
    areaSelf.set(area, (areaSelf.get(area) ?? 0) + us);
    for (const a of stackAreas(id)) if (!SPECIAL.has(a)) areaIncl.set(a, (areaIncl.get(a) ?? 0) + us);
  }
  const busy = Math.max(1, total - idle);
  const pct = (us: number) => (us / busy) * 100;
  return {
    file,
    durationS: (p.endTime - p.startTime) / 1e6,
    idlePct: (idle / Math.max(1, total)) * 100,
    top: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, 25)
      .map((f) => ({
        name: f.name,
        where: f.where,
        selfPct: pct(f.us),
        ...(f.callers.size
          ? {
              calledFrom: Object.fromEntries(
                [...f.callers]
                  .sort((a, b) => b[1] - a[1])
                  .slice(0, 4)
                  .map(([a, us]) => [a, Math.round((us / f.us) * 100)]),
              ),
            }
          : {}),
      })),
    areas: [...areaSelf.keys()]
      .map((area) => ({ area, selfPct: pct(areaSelf.get(area)!), inclusivePct: pct(areaIncl.get(area) ?? areaSelf.get(area)!) }))
      .sort((a, b) => b.selfPct - a.selfPct)
      .slice(0, 20),
  };
}

/** Summarises every .cpuprofile in a directory (written by node --cpu-prof when a process exits). */
export async function summarizeCpuProfiles(dir: string): Promise<CpuProfileSummary[]> {
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.cpuprofile')).sort();
  const out: CpuProfileSummary[] = [];
  for (const f of files) out.push(summarizeProfile(f, JSON.parse(await readFile(join(dir, f), 'utf8')) as CpuProfile));
  return out;
}

export const calledFrom = (f: CpuProfileSummary['top'][number]) =>
  f.calledFrom
    ? `  (called from ${Object.entries(f.calledFrom)
        .map(([a, p]) => `${a} ${p}%`)
        .join(', ')})`
    : '';

// `node bench/report/cpu-profile-summary.ts <file.cpuprofile>`: the same summary for any profile.
if (import.meta.main) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node bench/report/cpu-profile-summary.ts <file.cpuprofile>');
  const s = summarizeProfile(file, JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
  console.log(`${s.file}: ${s.durationS.toFixed(0)} s, idle ${s.idlePct.toFixed(0)}%; percentages of busy time`);
  for (const f of s.top) console.log(`${f.selfPct.toFixed(1).padStart(6)}%  ${f.name}  ${f.where}${calledFrom(f)}`);
  console.log('\nby area (self / inclusive):');
  for (const a of s.areas) console.log(`${a.selfPct.toFixed(1).padStart(6)}% ${a.inclusivePct.toFixed(1).padStart(6)}%  ${a.area}`);
}
