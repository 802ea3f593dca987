import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Database, StatusEvent } from '../db/database.ts';
import type { Accept } from '../idempotency/accept.ts';
import type { ReadRequest } from '../idempotency/request-reader.ts';
import type { KeyRing } from '../keys/key-ring.ts';
import type { OperationSpec } from '../operations/operation.ts';
import type { QueuedRequest } from '../queue/request-queue.ts';
import type { RedisClient } from '../redis.ts';
import type { StatusFeed } from '../status/status-feed.ts';
import type { RateLimits } from './rate-limits.ts';

/** Everything the HTTP layer needs, passed in: the app itself opens no connection. */
export interface AppDeps {
  config: Config;
  db: Kysely<Database>;
  /** the stored API keys, kept in memory (createKeyRing); without it only API_KEYS' keys are valid */
  keys?: KeyRing;
  feed: StatusFeed;
  /** a tenant's request by id, read from Postgres (batched with concurrent reads) */
  readRequest: ReadRequest;
  /** records a request under its key or finds the earlier one (see acceptRequest) */
  accept: Accept;
  /** Adds the jobs of recorded requests; may fail (Redis away): the reconciler covers that. */
  enqueue(requests: QueuedRequest[]): Promise<void>;
  /** Prometheus registry, served at GET /metrics by the admin server (src/admin/admin-app.ts) */
  metrics: Registry;
  /** called when a follower delivered a terminal state a status event woke it for (FollowDeps.onPushed) */
  onPushed?(event: StatusEvent): void;
  /**
   * Readiness checks by name; `run` resolves when the service answers, with a short phrase instead
   * when it answers but is set up wrong (shown in place of `ok`). The API is ready while every
   * `required` one answers; an optional one that does not, or any that is set up wrong, only makes it `degraded`.
   */
  checks: Record<string, { run(): Promise<void | string>; required: boolean }>;
  /** where the rate limits are counted, shared by every API instance (createRedis's `limiter` role) */
  rateLimitRedis: RedisClient;
  /**
   * Aborted when the server starts draining before it closes (drainServer, on SIGTERM in
   * runApiProcess): requests are still served, but /readyz answers 503 and every answer closes
   * its connection. Without it the app never drains.
   */
  draining?: AbortSignal;
}

/** What an app's own routes get: the database (extend it with the app's tables, `db.$extendTables<AppDatabase>()`). */
export interface AppRouteDeps {
  db: Kysely<Database>;
}

/**
 * An app's own routes (e.g. reading what its operations wrote), registered inside the
 * authenticated /v1 scope: `request.tenantId` is set, the rate limit applies, errors answer as
 * problem+json. Give each route a full path (`/v1/...`) and a TypeBox schema: `request.params`,
 * `query` and `body` then have the schema's types.
 */
export type AppRoutes = FastifyPluginAsyncTypebox<AppRouteDeps>;

/** The app-specific part of the API: which operations it accepts and which routes of its own it serves. */
export interface ApiOptions {
  /** one POST route each; the submit side needs only the OperationSpec, whatever the kind */
  operations: readonly OperationSpec[];
  routes?: readonly AppRoutes[];
  /** the rate limits to count on (createRateLimits), shared with the host app's own hooks; by default the plugin's own */
  limits?: RateLimits;
}
