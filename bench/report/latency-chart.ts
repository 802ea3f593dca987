import type { BenchResults } from '../results.ts';
import type { Capacity } from '../scenarios/capacity.ts';

interface Series {
  label: string;
  color: string;
  dashed: boolean;
  /** sustained: every criterion; accepted: p99 and rate met but the backlog grew (ingest) */
  points: { x: number; y: number; verdict: 'sustained' | 'accepted' | 'no' }[];
}

const W = 800;
const H = 460;
const M = { left: 64, right: 230, top: 40, bottom: 52 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function series(c: Capacity | undefined, label: string, color: string): Series[] {
  if (!c) return [];
  const pts = (f: (s: Capacity['steps'][number]) => number) =>
    c.steps
      .map((s) => ({
        x: s.offered,
        y: f(s),
        verdict: s.reasons.length ? ('no' as const) : s.backlogReasons.length ? ('accepted' as const) : ('sustained' as const),
      }))
      .filter((p) => p.y > 0);
  return [
    { label: `${label} p99`, color, dashed: false, points: pts((s) => s.summary.p99) },
    { label: `${label} p50`, color, dashed: true, points: pts((s) => s.summary.p50) },
  ];
}

function marker(x: number, y: number, verdict: Series['points'][number]['verdict'], color: string): string {
  if (verdict === 'accepted')
    return `<rect x="${(x - 3.5).toFixed(1)}" y="${(y - 3.5).toFixed(1)}" width="7" height="7" fill="#fff" stroke="${color}" stroke-width="1.5"/>`;
  return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${verdict === 'sustained' ? color : '#fff'}" stroke="${color}" stroke-width="1.5"/>`;
}

/** Log-log: p50 and p99 latency against the offered rate of every open-loop ladder point. */
export function latencyChart(r: BenchResults): string {
  const all = [
    ...series(r.baseline, 'bare route', '#6b7280'),
    ...series(r.ingest, 'ingest', '#2563eb'),
    ...series(r.naive, 'ingest, naive path', '#dc2626'),
    ...series(r.replay, 'replay', '#16a34a'),
  ];
  const xs = all.flatMap((s) => s.points.map((p) => p.x));
  const ys = all.flatMap((s) => s.points.map((p) => p.y));
  const lx0 = Math.floor(Math.log10(Math.min(...xs, 100)));
  const lx1 = Math.ceil(Math.log10(Math.max(...xs, 1000)));
  const ly0 = Math.floor(Math.log10(Math.min(...ys, 1)));
  const ly1 = Math.max(3, Math.ceil(Math.log10(Math.max(...ys, 200))));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + ((Math.log10(x) - lx0) / (lx1 - lx0)) * pw;
  const sy = (y: number) => M.top + ph - ((Math.log10(y) - ly0) / (ly1 - ly0)) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="14" font-weight="bold">Latency against offered rate (open loop, ${esc(r.meta.form)} run at ${esc(r.meta.commit.split(' ')[0] ?? '')}, ${esc(r.meta.startedAt.slice(0, 16))}Z)</text>`,
  ];
  for (let e = lx0; e <= lx1; e++) {
    for (const m of [1, 2, 5]) {
      const x = m * 10 ** e;
      if (Math.log10(x) > lx1) break;
      out.push(`<line x1="${sx(x)}" y1="${M.top}" x2="${sx(x)}" y2="${M.top + ph}" stroke="#e5e7eb"/>`);
      out.push(`<text x="${sx(x)}" y="${M.top + ph + 16}" text-anchor="middle">${x >= 1000 ? `${x / 1000}k` : x}</text>`);
    }
  }
  for (let e = ly0; e <= ly1; e++) {
    const y = 10 ** e;
    out.push(`<line x1="${M.left}" y1="${sy(y)}" x2="${M.left + pw}" y2="${sy(y)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${M.left - 6}" y="${sy(y) + 4}" text-anchor="end">${y >= 1 ? y : y.toFixed(-e)}</text>`);
  }
  out.push(`<line x1="${M.left}" y1="${sy(200)}" x2="${M.left + pw}" y2="${sy(200)}" stroke="#dc2626" stroke-dasharray="2 3"/>`);
  out.push(`<text x="${M.left + 4}" y="${sy(200) - 4}" fill="#dc2626">p99 limit 200 ms</text>`);
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#9ca3af"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">offered rate, requests/s (log)</text>`);
  out.push(`<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">latency, ms (log)</text>`);
  all.forEach((s, i) => {
    const path = s.points.map((p, j) => `${j ? 'L' : 'M'}${sx(p.x).toFixed(1)} ${sy(p.y).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of s.points) out.push(marker(sx(p.x), sy(p.y), p.verdict, s.color));
    const ly = M.top + 10 + i * 20;
    const lx = M.left + pw + 14;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    out.push(`<text x="${lx + 32}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  const lx = M.left + pw + 14;
  const noteY = M.top + 10 + all.length * 20 + 14;
  const legend: [Series['points'][number]['verdict'], string][] = [
    ['sustained', 'sustained'],
    ['accepted', 'accepted, backlog grew'],
    ['no', 'not sustained'],
  ];
  legend.forEach(([v, text], i) => {
    out.push(marker(lx + 13, noteY + i * 18 - 4, v, '#374151'));
    out.push(`<text x="${lx + 32}" y="${noteY + i * 18}" fill="#374151">${text}</text>`);
  });
  out.push(
    `<text x="${lx}" y="${noteY + 3 * 18 + 6}" fill="#374151">medians of ${r.ingest?.steps[0]?.summary.runs ?? r.baseline?.steps[0]?.summary.runs ?? 1} run(s) per point</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
