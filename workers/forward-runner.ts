import { SpanKind } from '@opentelemetry/api';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../src/db/database.ts';
import { claimAttempt, completeAttempt, type LeaseTerms, releaseAttempt } from '../src/idempotency/request-lease.repository.ts';
import { callUpstream, type CallOutcome, type UpstreamCall } from '../src/operations/forward/call-upstream.ts';
import { PROCESSING_FAILED } from '../src/operations/error-codes.ts';
import type { ForwardOperation } from '../src/operations/operation.ts';
import { decide, type ForwardError } from '../src/operations/forward/upstream-outcome.ts';
import { upstreamKeyFor } from '../src/operations/forward/upstream-key.ts';
import { currentTraceCarrier, withSpan } from '../src/tracing/spans.ts';
import type { RunResult } from './operation-runners.ts';
import { UnknownOperation } from './unknown-operation.ts';

/**
 * A lease outlasts the call's own timeout by this much: the time between the claim's commit and
 * the first byte sent, and between the abort and the record. A record later than that is still
 * safe (fenced by the attempt number); the grace only keeps a slow worker's attempt from being
 * overlapped by the next one.
 */
export const LEASE_GRACE_MS = 2_000;

export interface ForwardRunnerDeps {
  db: Kysely<Database>;
  log: Logger;
  call?: (call: UpstreamCall) => Promise<CallOutcome>;
  random?: () => number;
  /** called once per finished upstream call with what it decided (for a metric) */
  onAttempt?(operation: string, outcome: 'succeeded' | 'retried' | ForwardError['code']): void;
}

/**
 * The runner of forward operations (operation-runners.ts). Runs one forwarded request of
 * `operation` one step, by the route that operation carries (`operation.forward`): claims its next
 * attempt (claimAttempt: at most one in flight per request across all workers), calls the upstream
 * outside any transaction, and records what the answer decides, fenced by the attempt number: a
 * terminal outcome (succeeded, or failed with the upstream's refusal or after the last attempt),
 * or the time the next attempt is due.
 * Every attempt carries the same derived Idempotency-Key. `delayed`: an attempt of another worker
 * holds the request, or the next attempt is not due yet; `fenced`: this attempt's answer came after
 * a later attempt took over, and nothing was written. May run any number of times for one request;
 * throws for infrastructure failures (the caller retries), and UnknownOperation for a request
 * of another operation than `operation`.
 */
export function createForwardRunner(deps: ForwardRunnerDeps) {
  const call = deps.call ?? callUpstream;
  const random = deps.random ?? Math.random;

  return async (requestId: string, operation: ForwardOperation): Promise<RunResult> => {
    const route = operation.forward;
    const terms: LeaseTerms = { operation: operation.name, leaseMs: route.timeoutMs + LEASE_GRACE_MS, maxAttempts: route.maxAttempts };
    const claim = await claimAttempt(deps.db, requestId, [terms]);
    switch (claim.kind) {
      case 'other':
        throw new UnknownOperation(claim.operation);
      case 'missing':
        return { kind: 'missing' };
      case 'terminal':
        return { kind: 'already-terminal', row: claim.row };
      case 'leased':
        return { kind: 'delayed', delayMs: claim.leftMs };
      case 'exhausted': {
        const { row } = claim;
        deps.log.warn(
          { requestId, attempts: row.attempts },
          'the last upstream attempt ended without an outcome (its worker was lost); failing the request',
        );
        const error = {
          code: PROCESSING_FAILED,
          message: `The last of ${row.attempts} attempts ended without an answer being recorded (its worker stopped).`,
        };
        const done = await completeAttempt(deps.db, requestId, row.attempts, { ok: false, error });
        return done ? { kind: 'completed', row: done } : { kind: 'fenced' };
      }
    }
    const { row } = claim;
    const attempt = row.attempts;
    const { decision, trace } = await withSpan(
      'idemq.upstream_call',
      { kind: SpanKind.CLIENT, attributes: { 'idemq.request_id': requestId, 'idemq.operation': route.name, 'idemq.attempt': attempt } },
      async (span) => {
        const outcome = await call({
          route,
          key: upstreamKeyFor(row.tenant_id, row.idempotency_key),
          requestId,
          tenantId: row.tenant_id,
          body: row.payload,
        });
        const decision = decide(outcome, { route, attempt, now: Date.now(), random });
        span.setAttribute('idemq.decision', decision.kind);
        return { decision, trace: currentTraceCarrier() };
      },
    );
    deps.onAttempt?.(route.name, decision.kind === 'retry' ? 'retried' : decision.kind === 'succeeded' ? 'succeeded' : decision.error.code);
    if (decision.kind === 'retry') {
      deps.log.info(
        { requestId, operation: route.name, attempt, reason: decision.reason, delayMs: decision.delayMs },
        'upstream attempt will be retried',
      );
      return (await releaseAttempt(deps.db, requestId, attempt, decision.delayMs))
        ? { kind: 'delayed', delayMs: decision.delayMs }
        : { kind: 'fenced' };
    }
    const done = await completeAttempt(
      deps.db,
      requestId,
      attempt,
      decision.kind === 'succeeded' ? { ok: true, result: decision.result } : { ok: false, error: decision.error },
      trace,
    );
    if (!done) deps.log.warn({ requestId, attempt }, 'upstream answer arrived after a later attempt took over; discarded');
    return done ? { kind: 'completed', row: done } : { kind: 'fenced' };
  };
}
