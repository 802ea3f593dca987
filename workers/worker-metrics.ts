import { Counter, Registry } from 'prom-client';

/** The worker process's Prometheus metrics, served on WORKER_METRICS_PORT when it is set. */
export function createWorkerMetrics() {
  const registry = new Registry();
  const unknownOperation = new Counter({
    name: 'idemq_worker_unknown_operation_total',
    help: 'Runs of requests whose operation this worker does not know (API deployed ahead of workers); each waits and is retried',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const upstreamAttempts = new Counter({
    name: 'idemq_worker_upstream_attempts_total',
    help: 'Attempts of forward routes by what their answer decided: succeeded, upstream_rejected, retried, processing_failed',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  return { registry, unknownOperation, upstreamAttempts };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
