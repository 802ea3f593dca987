import { Histogram, type Registry } from 'prom-client';

/**
 * The steps of a request's way from its record to the push of its outcome, each timed on the
 * process that sees its end: the worker (accepted_to_enqueued … committed_to_published) and the
 * API that pushes (published_to_pushed, accepted_to_pushed). The timestamps travel with the job
 * data and the status event; across machines their clocks must agree (docs/operations.md).
 */
export type Stage =
  | 'accepted_to_enqueued'
  | 'enqueued_to_taken'
  | 'taken_to_committed'
  | 'committed_to_published'
  | 'published_to_pushed'
  | 'accepted_to_pushed';

/** fine below 100 ms, where the push budget lies, coarse above it */
export const STAGE_BUCKETS = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5, 10,
];

/** the API's stage histogram, and the worker's (whose series all carry the `idemq_worker_` prefix) */
export const STAGE_METRICS = { api: 'idemq_stage_duration_seconds', worker: 'idemq_worker_stage_duration_seconds' } as const;

/** The stage histogram, the same in the API and the worker but for its name: each exports the stages it sees end. */
export function createStageHistogram(registry: Registry, process: keyof typeof STAGE_METRICS) {
  const histogram = new Histogram<'stage'>({
    name: STAGE_METRICS[process],
    help: 'Time a request spent in each step: accepted (key recorded) -> enqueued -> taken by a worker -> committed -> event published -> pushed to a follower, and accepted -> pushed in all',
    labelNames: ['stage'],
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  /** Observes `toMs - fromMs`; a stamp that is missing (older job, event from elsewhere) is no observation. */
  return (stage: Stage, fromMs: number | undefined, toMs: number | undefined): void => {
    if (fromMs === undefined || toMs === undefined) return;
    // clocks of two machines may disagree by a little: a negative step is counted as 0, not dropped
    histogram.observe({ stage }, Math.max(0, toMs - fromMs) / 1000);
  };
}

export type ObserveStage = ReturnType<typeof createStageHistogram>;
