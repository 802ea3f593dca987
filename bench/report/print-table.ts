import type { Row } from './rows.ts';
import type { TargetCheck } from './targets.ts';

const num = (v: number | null, digits = 1) => (v === null || !Number.isFinite(v) ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(digits));

/** Columns of the results table; latencies in ms, rates in requests per second. */
export const COLUMNS: [string, (r: Row) => string][] = [
  ['scenario', (r) => r.scenario],
  ['load', (r) => r.load],
  ['offered/s', (r) => num(r.offered, 0)],
  ['achieved/s', (r) => num(r.achieved, 0)],
  ['runs', (r) => String(r.runs)],
  ['failed', (r) => String(r.failed)],
  ['p50', (r) => num(r.p50)],
  ['p90', (r) => num(r.p90)],
  ['p99', (r) => num(r.p99)],
  ['max', (r) => num(r.max)],
  ['vs bare', (r) => r.vsBare],
  ['foreign', (r) => r.foreign.toFixed(2)],
  ['verdict', (r) => r.verdict],
];

export function formatTable(rows: readonly Row[]): string {
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => f(r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  return cells
    .map((c) =>
      c
        .map((v, i) => (i < 2 || i === c.length - 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatTargets(targets: readonly TargetCheck[]): string {
  return targets
    .map((t) => `${t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS'}  ${t.target}\n      ${t.measured}${t.note ? `  (${t.note})` : ''}`)
    .join('\n');
}
