import { type ConnectionOptions, type Job, type JobsOptions, type JobType, Queue, type Telemetry } from 'bullmq';
import { bucketOf } from '../bucket-of.ts';
import { shardQueueNames } from './queue-shards.ts';

export { REQUEST_QUEUE } from './queue-shards.ts';
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

/** How the request queue is laid out in Redis: the config's QUEUE_PREFIX, QUEUE_SHARDS and cluster mode. */
export interface QueueLayout {
  queuePrefix: string;
  queueShards: number;
  redisClusterNodes: readonly unknown[];
}

/** The BullMQ queue names of `layout`, shard 0 first (see shardQueueNames). */
export function queueNamesOf(layout: QueueLayout): string[] {
  return shardQueueNames(layout.queueShards, layout.redisClusterNodes.length > 0);
}

/**
 * The request queue, split into shards: each request's job lives in the shard its id picks, so
 * every reader and writer of a job finds it without asking the others.
 */
export interface RequestQueues {
  /** every shard, shard 0 first */
  readonly shards: readonly Queue<RequestJobData>[];
  /** the shard that holds (or will hold) the request's job */
  of(requestId: string): Queue<RequestJobData>;
  getJob(requestId: string): Promise<Job<RequestJobData> | undefined>;
  /** removes the request's job; 0 if there was none (or it is locked) */
  removeJob(requestId: string): Promise<number>;
  /** job counts by state, summed over the shards */
  getJobCounts(...types: JobType[]): Promise<Record<string, number>>;
  on(event: 'error', listener: (err: Error) => void): void;
  close(): Promise<void>;
}

/** `telemetry` (queueTelemetry): jobs carry the trace context they were added in; none when tracing is off. */
export function createRequestQueues(connection: ConnectionOptions, layout: QueueLayout, telemetry?: Telemetry): RequestQueues {
  const shards = queueNamesOf(layout).map(
    (name) => new Queue<RequestJobData>(name, { connection, prefix: layout.queuePrefix, defaultJobOptions: JOB_OPTIONS, telemetry }),
  );
  const of = (requestId: string) => shards[bucketOf(requestId, shards.length)]!;
  return {
    shards,
    of,
    getJob: (requestId) => of(requestId).getJob(jobIdFor(requestId)),
    removeJob: (requestId) => of(requestId).remove(jobIdFor(requestId)),
    async getJobCounts(...types) {
      const total: Record<string, number> = {};
      for (const counts of await Promise.all(shards.map((q) => q.getJobCounts(...types)))) {
        for (const [state, n] of Object.entries(counts)) total[state] = (total[state] ?? 0) + n;
      }
      return total;
    },
    on(event, listener) {
      for (const q of shards) q.on(event, listener);
    },
    async close() {
      await Promise.all(shards.map((q) => q.close()));
    },
  };
}

/**
 * Adds the jobs for recorded requests, each to its shard (one addBulk per shard, all at once).
 * Adding an id that already exists is a silent no-op in BullMQ, so calling this again for the same
 * request is always safe.
 */
export async function enqueueRequests(queues: RequestQueues, requests: readonly QueuedRequest[]): Promise<void> {
  if (requests.length === 0) return;
  const byShard = new Map<Queue<RequestJobData>, QueuedRequest[]>();
  for (const request of requests) {
    const shard = queues.of(request.id);
    const batch = byShard.get(shard);
    if (batch) batch.push(request);
    else byShard.set(shard, [request]);
  }
  await Promise.all([...byShard].map(([shard, batch]) => addToShard(shard, batch)));
}

async function addToShard(queue: Queue<RequestJobData>, requests: readonly QueuedRequest[]): Promise<void> {
  await queue.addBulk(
    requests.map(({ id, operation, traceMetadata, acceptedAt }) => ({
      name: PROCESS_JOB,
      data: { requestId: id, operation, ...(acceptedAt !== undefined && { acceptedAt }) },
      // one addBulk gathers the enqueues of many API requests: each job continues its own request's trace
      opts: { jobId: jobIdFor(id), ...(traceMetadata && { telemetry: { metadata: traceMetadata } }) },
    })),
  );
}
