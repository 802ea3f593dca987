import { SpanKind } from '@opentelemetry/api';
import { LRUCache } from 'lru-cache';
import type { RequestRow } from '../db/database.ts';
import { withSpan } from '../tracing/spans.ts';
import type { Accept, AcceptOutcome } from './accept.ts';
import { fingerprintRequest } from './fingerprint.ts';
import { parseIdempotencyKey } from './idempotency-key.ts';

/** A replayed request still queued after this long may have lost its job: enqueue again (a no-op if not). */
export const REENQUEUE_AFTER_MS = 2_000;

/** A submission as it arrived, before anything is checked. */
export interface SubmitInput {
  tenantId: string;
  /** the Idempotency-Key header as received (absent, one value or several) */
  idempotencyKey: string | string[] | undefined;
  /** the operation submitted, by name, and the route it was posted to (part of the fingerprint) */
  operation: { name: string; route: string };
  payload: unknown;
}

export type SubmitOutcome =
  /** recorded now and handed to the queue (or, if the queue was away, left to the reconciler) */
  | { kind: 'created'; request: RequestRow }
  /** the key names an earlier request with the same fingerprint; a stale queued one was enqueued again */
  | { kind: 'replayed'; request: RequestRow }
  /** the key names an earlier request with another fingerprint; nothing was recorded or enqueued */
  | { kind: 'mismatch'; request: RequestRow }
  /** the Idempotency-Key is missing or malformed; nothing was recorded */
  | { kind: 'invalid-key'; reason: 'missing' | 'invalid'; detail: string };

/** A recorded request as the queue takes it. */
export interface SubmittedJob {
  id: string;
  operation: string;
  /** when this process recorded the key (ms since the epoch); only on the job of a `created` request */
  acceptedAt?: number;
}

export interface SubmitDeps {
  accept: Accept;
  /** Adds the jobs of recorded requests; may fail (Redis away): the reconciler covers that. */
  enqueue(jobs: SubmittedJob[]): Promise<void>;
  /** how long a finished request's key is kept (IDEMPOTENCY_TTL_SECONDS) */
  ttlSeconds: number;
  /** ms since the epoch; Date.now by default */
  now?: () => number;
  /** REENQUEUE_AFTER_MS by default */
  reenqueueAfterMs?: number;
}

/** Where submit reports a failure that does not change its answer (pino's signature). */
export interface SubmitLog {
  warn(fields: object, message: string): void;
}

export type Submit = (input: SubmitInput, log: SubmitLog) => Promise<SubmitOutcome>;

/**
 * The submit story: parse the key, fingerprint the request, accept it, enqueue a created one,
 * enqueue again a replay of a request still queued after `reenqueueAfterMs` (at most once per
 * window per request, however many replays come), and say what happened.
 * The record is durable once accepted: an enqueue that fails is logged, never thrown, and the
 * reconciler enqueues the request later, so `created` stands. Enqueues may repeat: the job id is
 * derived from the request's id. Throws only for the unexpected (Postgres unreachable and the like).
 */
export function createSubmit({ accept, enqueue, ttlSeconds, now = Date.now, reenqueueAfterMs = REENQUEUE_AFTER_MS }: SubmitDeps): Submit {
  // a storm of replays of one stuck request re-enqueues it once per window, not once per replay
  const reenqueued = new LRUCache<string, true>({ max: 10_000, ttl: reenqueueAfterMs });

  /** The job this outcome calls for: a created request's, or a stale queued replay's once per window. */
  const jobFor = ({ kind, request }: AcceptOutcome): SubmittedJob | undefined => {
    if (kind === 'created') return { id: request.id, operation: request.operation, acceptedAt: now() };
    if (kind !== 'replayed' || request.status !== 'queued' || now() - request.created_at.getTime() <= reenqueueAfterMs) return undefined;
    if (reenqueued.has(request.id)) return undefined;
    reenqueued.set(request.id, true);
    return { id: request.id, operation: request.operation };
  };

  return async ({ tenantId, idempotencyKey, operation, payload }, log) => {
    const key = parseIdempotencyKey(idempotencyKey);
    if (!key.ok) return { kind: 'invalid-key', reason: key.reason, detail: key.detail };
    const outcome = await withSpan('idemq.accept', {}, () =>
      accept({
        tenantId,
        key: key.key,
        fingerprint: fingerprintRequest('POST', operation.route, payload),
        operation: operation.name,
        payload,
        ttlSeconds,
      }),
    );
    const job = jobFor(outcome);
    if (job) {
      await withSpan('idemq.enqueue', { kind: SpanKind.PRODUCER }, () => enqueue([job])).catch((err: unknown) =>
        log.warn({ err, requestId: job.id }, 'enqueue failed; the reconciler will enqueue the request'),
      );
    }
    return outcome;
  };
}
