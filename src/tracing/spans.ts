import { type Context, context, propagation, type Span, type SpanOptions, SpanStatusCode, trace } from '@opentelemetry/api';

/** idemq's own spans; a no-op tracer until tracing is started (start-tracing.ts) */
const tracer = () => trace.getTracer('idemq');

/** A span's context in text form (W3C `traceparent`, `tracestate`), to travel in a stored event. */
export type TraceCarrier = Record<string, string>;

/**
 * Runs `fn` inside a new span, a child of the active one (or of `parent`), and ends it when `fn`
 * settles; an error is recorded on the span and rethrown.
 */
export function withSpan<T>(name: string, options: SpanOptions & { parent?: Context }, fn: (span: Span) => Promise<T>): Promise<T> {
  const { parent, ...spanOptions } = options;
  return tracer().startActiveSpan(name, spanOptions, parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The active span's context as a carrier; undefined when there is none to carry (tracing off). */
export function currentTraceCarrier(ctx: Context = context.active()): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** The context a carrier (or incoming HTTP headers) names, to parent a span in another process. */
export function contextFromCarrier(carrier: Record<string, unknown> | undefined): Context {
  return carrier ? propagation.extract(context.active(), carrier) : context.active();
}

/** withSpan for synchronous work. */
export function withSyncSpan<T>(name: string, options: SpanOptions & { parent?: Context }, fn: (span: Span) => T): T {
  const { parent, ...spanOptions } = options;
  return tracer().startActiveSpan(name, spanOptions, parent ?? context.active(), (span) => {
    try {
      return fn(span);
    } finally {
      span.end();
    }
  });
}
