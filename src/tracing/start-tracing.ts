import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import type { TracingConfig } from '../config.ts';

export interface Tracing {
  /** exports the spans still buffered and stops; resolves at once when tracing is off */
  shutdown(): Promise<void>;
}

/**
 * Turns tracing on for this process when `config.exporter` names an exporter: registers the
 * OpenTelemetry API's global tracer provider (spans batched to OTLP over HTTP, or printed), an
 * AsyncLocalStorage context manager and the W3C trace-context propagator. Off (`none`, the
 * default), it registers nothing: every span the code starts is the API's no-op span, and jobs
 * carry no trace context. Call once per process, before the API or the worker starts.
 */
export function startTracing(config: TracingConfig, defaultServiceName: string): Tracing {
  if (config.exporter === 'none') return { shutdown: async () => undefined };
  const exporter: SpanExporter =
    config.exporter === 'otlp' ? new OTLPTraceExporter({ url: config.url, headers: { ...config.headers } }) : new ConsoleSpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName || defaultServiceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: config.scheduleDelayMs })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}
