import { LRUCache } from 'lru-cache';
import type { StatusEvent } from '../src/db/database.ts';
import { isTerminal } from '../src/idempotency/request-view.ts';
import type { ObserveStage } from '../src/stage-histogram.ts';

/** requests committed here whose terminal event this process's relay has not published (yet) */
const PENDING_MAX = 10_000;
/** an event published by another worker's relay never comes here: its entry goes after this */
const PENDING_TTL_MS = 60_000;

/** What the worker knows of a job when its run committed the request's outcome. */
export interface CompletedRun {
  requestId: string;
  /** RequestJobData.acceptedAt: absent on jobs the reconciler added, which are not timed */
  acceptedAt?: number;
  /** BullMQ's job timestamp: when the API added the job (its clock) */
  enqueuedAt: number;
  /** when this process started the run that committed */
  takenAt: number;
  committedAt: number;
}

/**
 * The worker's part of the stage timings, in memory and without any extra statement or command:
 * a committed run observes its first three steps and leaves its commit time here; the relay of
 * this process stamps the request's terminal event with it (`stamp`) as it publishes, observing
 * committed_to_published and carrying acceptedAt and publishedAt on to the API that pushes. An
 * event that another worker's relay publishes goes out with publishedAt only.
 */
export function createStageTimings(observe: ObserveStage) {
  const committed = new LRUCache<string, { acceptedAt: number; committedAt: number }>({ max: PENDING_MAX, ttl: PENDING_TTL_MS });
  return {
    committed(run: CompletedRun): void {
      if (run.acceptedAt === undefined) return;
      observe('accepted_to_enqueued', run.acceptedAt, run.enqueuedAt);
      observe('enqueued_to_taken', run.enqueuedAt, run.takenAt);
      observe('taken_to_committed', run.takenAt, run.committedAt);
      committed.set(run.requestId, { acceptedAt: run.acceptedAt, committedAt: run.committedAt });
    },
    /** The events as they are published now: each with publishedAt, a terminal one committed here with acceptedAt. */
    stamp(events: StatusEvent[]): StatusEvent[] {
      const publishedAt = Date.now();
      return events.map((event) => {
        const run = isTerminal(event.status) ? committed.get(event.requestId) : undefined;
        if (!run) return { ...event, publishedAt };
        committed.delete(event.requestId);
        observe('committed_to_published', run.committedAt, publishedAt);
        return { ...event, acceptedAt: run.acceptedAt, publishedAt };
      });
    },
  };
}

export type StageTimings = ReturnType<typeof createStageTimings>;
