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
  return { registry, unknownOperation };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
