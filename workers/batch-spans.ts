import { type Context, SpanStatusCode, trace } from '@opentelemetry/api';
import { currentTraceCarrier, type TraceCarrier } from '../src/tracing/spans.ts';
import type { ProcessResult } from './process-batch.ts';

/**
 * One `idemq.transaction` span per request of a batch, each a child of its own job's span (the
 * context the request was loaded in), all covering the batch's transaction up to its commit.
 * `traces` holds each span's context for the request's outbox events; empty when tracing is off
 * (the spans are then the API's no-op spans).
 */
export function startBatchSpans(keys: readonly { id: string; ctx: Context }[]) {
  const tracer = trace.getTracer('idemq');
  const spans = keys.map(({ id, ctx }) => {
    const span = tracer.startSpan('idemq.transaction', { attributes: { 'idemq.request_id': id, 'idemq.batch_size': keys.length } }, ctx);
    return { id, span, carrier: currentTraceCarrier(trace.setSpan(ctx, span)) };
  });
  const traces = new Map<string, TraceCarrier>();
  for (const { id, carrier } of spans) if (carrier) traces.set(id, carrier);
  return {
    traces,
    /** ends every span: with its request's result, or each with the batch's error */
    end(outcome: { results: readonly (ProcessResult | Error)[] } | { error: unknown }) {
      for (const [i, { span }] of spans.entries()) {
        const result = 'results' in outcome ? outcome.results[i] : outcome.error;
        if (result instanceof Error || !result || !('kind' in (result as object))) {
          span.recordException(result instanceof Error ? result : String(result));
          span.setStatus({ code: SpanStatusCode.ERROR });
        } else {
          const { kind } = result as ProcessResult;
          span.setAttribute('idemq.result', kind);
          if (kind === 'completed') span.addEvent('committed');
        }
        span.end();
      }
    },
  };
}
