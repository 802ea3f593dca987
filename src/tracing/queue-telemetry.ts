import type { Telemetry } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import type { TracingConfig } from '../config.ts';

/**
 * BullMQ's own OpenTelemetry integration (bullmq-otel) for a Queue or Worker when tracing is on:
 * a job carries the trace context it was added in, and the worker's `process` span continues
 * it. Undefined when tracing is off, so BullMQ adds nothing to jobs and starts no span.
 */
export function queueTelemetry(config: TracingConfig): Telemetry | undefined {
  return config.exporter === 'none' ? undefined : new BullMQOtel({ tracerName: 'bullmq' });
}
