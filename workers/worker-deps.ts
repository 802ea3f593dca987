import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../src/config.ts';
import { assertMigrated } from '../src/db/check-migrations.ts';
import { createDb } from '../src/db/create-db.ts';
import type { Database } from '../src/db/database.ts';
import type { MigrationSet } from '../src/db/migrator.ts';
import { listenOrExplain } from '../src/listen-failure.ts';
import type { Operation } from '../src/operations/operation.ts';
import { createRegistry, type Registry } from '../src/operations/registry.ts';
import { claimQueuePrefixAtStart } from '../src/queue/queue-owner.ts';
import { createRequestQueues, type RequestQueues } from '../src/queue/request-queue.ts';
import { createRedis, type RedisClient } from '../src/redis.ts';
import { assertClusterNodes } from '../src/redis-topology.ts';
import { queueTelemetry } from '../src/tracing/queue-telemetry.ts';
import { startMetricsServer } from './metrics-server.ts';
import { createStatusPublisher } from '../src/outbox/status-publisher.ts';
import { createStageTimings, type StageTimings } from './stage-timings.ts';
import { createWorkerMetrics, type WorkerMetrics } from './worker-metrics.ts';

/** Everything a worker process runs on, opened by createWorkerDeps: the worker's counterpart of createApiDeps. */
export interface WorkerDeps {
  config: Config;
  log: Logger;
  /** the operations this worker runs, by name */
  registry: Registry;
  db: Kysely<Database>;
  /** this deployment's claim on QUEUE_PREFIX (queue-owner.ts) */
  deploymentId: string;
  /** the Redis connection of the claim, the owner watch and the relay's publishing */
  publisher: RedisClient;
  /** the Redis connection of the queues (re-adds, metrics, the shard census) */
  queueConnection: RedisClient;
  /** the BullMQ workers' blocking connection */
  blocking: RedisClient;
  queue: RequestQueues;
  /** BullMQ's telemetry when tracing is on */
  telemetry: ReturnType<typeof queueTelemetry>;
  metrics: WorkerMetrics;
  /** the stages of a request from acceptance to its event's publication (for a histogram) */
  stages: StageTimings;
  /** publishes status events on the status channels (the outbox relay's output) */
  publish: ReturnType<typeof createStatusPublisher>;
  /** a listener that logs a failure of `what` at warn level */
  onError(what: string): (err: Error) => void;
}

/**
 * Opens the worker process's connections: Postgres, the Redis connections, the queues, the metrics
 * (and their server if WORKER_METRICS_PORT is set), the status publisher and the registry of
 * `operations`. Refuses (throws) if two operations share a name or a route, if the database lacks a
 * migration this code knows, the core's or the app's (`migrations`), or if QUEUE_PREFIX on this
 * Redis belongs to another deployment (queue-owner.ts). `close` ends them all; the blocking
 * connection only once `workersStopped` settles: an abandoned job still reports to BullMQ when it
 * returns, and BullMQ retries a closed connection without pause while closing (a process exits sooner).
 */
export async function createWorkerDeps(
  config: Config,
  log: Logger,
  options: { operations: readonly Operation[]; migrations?: readonly MigrationSet[] },
): Promise<{ deps: WorkerDeps; close(workersStopped?: Promise<unknown>): Promise<void> }> {
  const registry = createRegistry(options.operations);
  const onError = (what: string) => (err: Error) => log.warn({ err }, `${what} error`);
  await assertClusterNodes(config);
  const { db } = createDb({
    connectionString: config.databaseUrl,
    poolSize: config.pgPoolSize,
    // the pid tells an operator (and the chaos run) which process a backend in pg_stat_activity serves
    applicationName: `idemq-worker-${process.pid}`,
    onIdleError: onError('postgres'),
  });
  await assertMigrated(db, options.migrations, config.databaseUrl).catch(async (err) => {
    await db.destroy();
    throw err;
  });
  const publisher = createRedis(config, 'publisher', onError('redis publisher'));
  // another deployment's workers on this Redis and QUEUE_PREFIX would take this one's jobs, and these theirs
  const deploymentId = await claimQueuePrefixAtStart(db, publisher, config.queuePrefix, (err) =>
    log.warn({ err }, 'Redis did not answer at start: QUEUE_PREFIX is claimed for this deployment once it does'),
  ).catch(async (err) => {
    publisher.disconnect();
    await db.destroy();
    throw err;
  });
  const queueConnection = createRedis(config, 'publisher', onError('redis queue'));
  const telemetry = queueTelemetry(config.tracing);
  const queue = createRequestQueues(queueConnection, config, telemetry);
  queue.on('error', onError('queue'));
  const metrics = createWorkerMetrics({ db, queue });
  const metricsServer = config.workerMetricsPort
    ? await listenOrExplain(
        () =>
          startMetricsServer(metrics.registry, {
            host: config.workerMetricsHost,
            port: config.workerMetricsPort,
            http: config.http,
            token: config.admin.token,
          }),
        {
          hostVariable: 'WORKER_METRICS_HOST',
          portVariable: 'WORKER_METRICS_PORT',
          host: config.workerMetricsHost,
          port: config.workerMetricsPort,
        },
      )
    : undefined;
  const stages = createStageTimings(metrics.observeStage);
  const publish = createStatusPublisher(publisher, config.queuePrefix, stages.stamp);
  const blocking = createRedis(config, 'blocking', onError('redis worker'));
  const deps: WorkerDeps = {
    config,
    log,
    registry,
    db,
    deploymentId,
    publisher,
    queueConnection,
    blocking,
    queue,
    telemetry,
    metrics,
    stages,
    publish,
    onError,
  };
  return {
    deps,
    async close(workersStopped = Promise.resolve()) {
      await queue.close().catch(onError('queue close'));
      void workersStopped.catch(() => undefined).then(() => blocking.disconnect());
      publisher.disconnect();
      queueConnection.disconnect();
      await metricsServer?.close();
      await db.destroy();
    },
  };
}
