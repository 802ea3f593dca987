import { type ConnectionOptions, type JobsOptions, Queue, type Telemetry } from 'bullmq';

export const REQUEST_QUEUE = 'requests';
export const PROCESS_JOB = 'process';

export interface RequestJobData {
  requestId: string;
  /**
   * The request's operation, so a worker picks the runner of its kind without a read; absent on
   * jobs added before it was part of the job (the worker then reads it from the request).
   */
  operation?: string;
  /**
   * When the API recorded the key (its clock, ms since the epoch): the start of the request's stage
   * timings. Absent on jobs the reconciler adds again, which are then not timed.
   */
  acceptedAt?: number;
}

/** A recorded request, as the queue needs it. */
export interface QueuedRequest {
  id: string;
  operation: string;
  /** the trace context the job continues (bullmq-otel's metadata), when tracing is on */
  traceMetadata?: string;
  /** when the key was recorded (see RequestJobData) */
  acceptedAt?: number;
}

/**
 * The BullMQ job id of a request: derived from the record's id, so BullMQ itself refuses a second
 * job for the same record. Prefixed because BullMQ rejects integer-like ids; a uuid has no `:`.
 * A key that expires and is reused gets a new record, a new id, and so never meets the old job.
 */
export function jobIdFor(requestId: string): string {
  return `req-${requestId}`;
}

/**
 * Attempts are generous because infrastructure outages must not turn into failures; a failure of
 * any other kind is capped by MAX_ATTEMPTS in the processor, which then stores the request as failed.
 */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 1_000,
  backoff: { type: 'capped-exponential' },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: { age: 3_600, count: 10_000 },
};

/** Retry delay: 200 ms doubling to at most 30 s. */
export function retryDelayMs(attemptsMade: number): number {
  return Math.min(30_000, 200 * 2 ** Math.min(attemptsMade, 10));
}

/** `telemetry` (queueTelemetry): jobs carry the trace context they were added in; none when tracing is off. */
export function createRequestQueue(connection: ConnectionOptions, prefix: string, telemetry?: Telemetry): Queue<RequestJobData> {
  return new Queue<RequestJobData>(REQUEST_QUEUE, { connection, prefix, defaultJobOptions: JOB_OPTIONS, telemetry });
}

/**
 * Adds the job for a recorded request. Adding an id that already exists is a silent no-op in
 * BullMQ, so calling this again for the same request is always safe.
 */
export async function enqueueRequests(queue: Queue<RequestJobData>, requests: readonly QueuedRequest[]): Promise<void> {
  if (requests.length === 0) return;
  await queue.addBulk(
    requests.map(({ id, operation, traceMetadata, acceptedAt }) => ({
      name: PROCESS_JOB,
      data: { requestId: id, operation, ...(acceptedAt !== undefined && { acceptedAt }) },
      // one addBulk gathers the enqueues of many API requests: each job continues its own request's trace
      opts: { jobId: jobIdFor(id), ...(traceMetadata && { telemetry: { metadata: traceMetadata } }) },
    })),
  );
}
