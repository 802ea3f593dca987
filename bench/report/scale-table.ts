import type { ScaleResult } from '../scenarios/scale.ts';

const COLUMNS: [string, (p: ScaleResult['points'][number]) => string][] = [
  ['APIs', (p) => String(p.apis)],
  ['workers', (p) => String(p.workers)],
  ['accepted/s', (p) => p.accepted.toFixed(0)],
  ['completed/s', (p) => p.completed.toFixed(0)],
  ['API cores', (p) => p.cores.api.toFixed(2)],
  ['busiest API', (p) => p.busiest.api.toFixed(2)],
  ['worker cores', (p) => p.cores.worker.toFixed(2)],
  ['busiest worker', (p) => p.busiest.worker.toFixed(2)],
  ['Postgres cores', (p) => p.cores.postgres.toFixed(2)],
  ['Redis cores', (p) => p.cores.redis.toFixed(2)],
  ['generator', (p) => p.cores.generator.toFixed(2)],
  ['foreign', (p) => p.cores.foreign.toFixed(2)],
  ['machine busy', (p) => p.cores.machine.toFixed(2)],
  [
    'service CPU ms per request',
    (p) => (((p.cores.api + p.cores.worker + p.cores.postgres + p.cores.redis) * 1000) / p.accepted).toFixed(2),
  ],
  ['drain s', (p) => p.drainSeconds.toFixed(1)],
];

/** Markdown table of the scale matrix (reads fine on the console too). */
export function formatScaleTable(s: ScaleResult): string {
  return [
    `| ${COLUMNS.map(([h]) => h).join(' | ')} |`,
    `|${COLUMNS.map(() => ' ---: ').join('|')}|`,
    ...s.points.map((p) => `| ${COLUMNS.map(([, f]) => f(p)).join(' | ')} |`),
  ].join('\n');
}
