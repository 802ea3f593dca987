import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';
import { createItem } from '../helpers/items.ts';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { metricFamilies, scrape } from '../helpers/prometheus-text.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';

const DASHBOARD = new URL('../../deploy/grafana/idemq.json', import.meta.url);

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects: identifiers that are neither functions,
 * aggregations nor keywords, outside label matchers, grouping clauses, strings and ranges.
 */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  // a whole identifier (never a prefix of one) that is not called like a function
  return [...bare.matchAll(/(?<![a-zA-Z0-9_:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:]|\s*\()/g)]
    .map((m) => m[1]!)
    .filter((n) => !PROMQL_WORDS.has(n.toLowerCase()));
}

/** Every sample name a scrape can hold: the families, and a histogram's _bucket, _sum and _count. */
function exportedNames(...texts: string[]): Set<string> {
  const names = new Set<string>();
  for (const text of texts) {
    for (const [name, kind] of metricFamilies(text)) {
      names.add(name);
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    }
  }
  return names;
}

describe('the Grafana dashboard', () => {
  let ctx: TestContext;
  let apiText: string;
  let workerText: string;
  const panels = (JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] }).panels.filter((p) => p.type !== 'row');
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  beforeAll(async () => {
    ctx = await createTestContext();
    const app = await ctx.startApi();
    const port = await freePort();
    await ctx.startWorker({ WORKER_METRICS_PORT: String(port) });
    await createItem(app, 1);
    const admin = await ctx.startAdmin(app);
    apiText = (await admin.inject({ method: 'GET', url: '/metrics', headers: adminAuth })).body;
    workerText = (await scrape(`http://127.0.0.1:${port}/metrics`, adminAuth)).text;
  });
  afterAll(async () => {
    await ctx?.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  it('names in its queries only metrics that the API or a worker exports', () => {
    const exported = exportedNames(apiText, workerText);
    expect(exported.size).toBeGreaterThan(20);
    expect(exprs.length).toBeGreaterThan(15);
    for (const { panel, expr } of exprs) {
      const names = metricNamesIn(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${panel}: ${name} is not exported`).toBe(true);
    }
  });

  it('shows the whole pipeline: accept, answers, enqueue failures, backlog, jobs, batches, retries, failures, outbox lag, stalls, re-adds, pushes, latency per stage', () => {
    const used = new Set(exprs.flatMap(({ expr }) => metricNamesIn(expr)));
    for (const name of [
      'idemq_requests_accepted_total',
      'idemq_accept_duration_seconds_bucket',
      'idemq_enqueue_failures_total',
      'idemq_backlog',
      'idemq_worker_queue_jobs',
      'idemq_worker_job_duration_seconds_bucket',
      'idemq_worker_batch_size_bucket',
      'idemq_worker_retries_total',
      'idemq_worker_processing_failed_total',
      'idemq_worker_outbox_lag_seconds',
      'idemq_worker_stalled_jobs_total',
      'idemq_worker_reconciler_readded_total',
      'idemq_status_wakeups_total',
      'idemq_stage_duration_seconds_bucket',
      'idemq_worker_stage_duration_seconds_bucket',
    ])
      expect(used, name).toContain(name);
  });

  it('reads metric names out of PromQL, not functions, labels or keywords', () => {
    expect(metricNamesIn('sum by (le, result) (rate(idemq_worker_job_duration_seconds_bucket{state=~"a|b"}[$__rate_interval]))')).toEqual([
      'idemq_worker_job_duration_seconds_bucket',
    ]);
    expect(metricNamesIn('sum(rate(a_sum[5m])) / sum(rate(b_count[5m])) > 0.5 and on (x) c')).toEqual(['a_sum', 'b_count', 'c']);
    expect(metricNamesIn('histogram_quantile(0.9, sum by (le) (rate(not_exported_bucket[1m])))')).toEqual(['not_exported_bucket']);
  });
});
