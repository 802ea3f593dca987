import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { BenchResults } from '../results.ts';
import { RESULTS_DIR } from '../results.ts';
import type { WorkFigures } from './figures.ts';

const FILE = `${RESULTS_DIR}/work-history.json`;

/** One standard run's work per request, kept so the docs can show it across commits. */
export interface WorkHistoryEntry {
  /** the last commit that changed the service's code (src/, workers/, examples/): what was measured */
  codeCommit: string;
  /** the checked-out commit of the run */
  commit: string;
  date: string;
  form: 'quick' | 'full';
  submit: WorkFigures;
  replay: WorkFigures;
}

export function readWorkHistory(): WorkHistoryEntry[] {
  try {
    return JSON.parse(readFileSync(FILE, 'utf8')) as WorkHistoryEntry[];
  } catch {
    return [];
  }
}

/** Appends a standard run's work figures to bench/results/work-history.json. */
export function appendWorkHistory(r: BenchResults): string | undefined {
  if (!r.work) return undefined;
  let codeCommit = 'unknown';
  try {
    codeCommit = execFileSync('git', ['log', '-1', '--format=%h', '--', ':/src', ':/workers', ':/examples'], {
      cwd: RESULTS_DIR,
      encoding: 'utf8',
    }).trim();
  } catch {
    // not a git checkout: the entry still carries the run's commit field
  }
  const entry: WorkHistoryEntry = {
    codeCommit: r.meta.commit.includes('modified') ? `${codeCommit}+` : codeCommit,
    commit: r.meta.commit,
    date: r.meta.startedAt,
    form: r.meta.form,
    submit: r.work.submit,
    replay: r.work.replay,
  };
  const round = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v);
  writeFileSync(FILE, `${JSON.stringify([...readWorkHistory(), entry], round, 2)}\n`);
  return FILE;
}
