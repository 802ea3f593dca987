/**
 * idemq's public entry: everything an app built on the core uses for its operations, its API and
 * its migrations, and nothing else. An app imports only from here and, for its worker process,
 * from the worker's entry `idemq/worker` (workers/index.ts); a test enforces it for examples/.
 */

// operations
export {
  appTransaction,
  BusinessError,
  defineOperation,
  type ForwardOperation,
  type Operation,
  type OperationContext,
  type OperationKind,
  type OperationSpec,
  type TransactionalDefinition,
  type TransactionalOperation,
} from './operations/operation.ts';
export { createRegistry, type Registry } from './operations/registry.ts';
export { INVALID_PAYLOAD } from './operations/check-payload.ts';
export { PROCESSING_FAILED } from './operations/error-codes.ts';
export type { ForwardRoute } from './operations/forward/forward-route.ts';

// an app as a whole, and its processes
export type { IdemqApp } from './app-definition.ts';
export { runApiProcess } from './run-api.ts';
export { runMigrateProcess } from './db/run-migrate.ts';

// the API: a Fastify plugin for a team's own app, or the standalone app
export type { ApiOptions, AppDeps, AppRouteDeps, AppRoutes } from './http/api-deps.ts';
export { buildApp, idemqPlugin, openapiDocument } from './app.ts';
export { createApiDeps } from './deps.ts';
// the admin server (metrics, documents, Bull Board, the request console): createApiDeps's `admin` + openapiDocument
export { type AdminDeps, buildAdminApp } from './admin/admin-app.ts';

// configuration and logging
export { type Config, ConfigError, loadConfig } from './config.ts';
// the configuration and every operation a process runs: the app's, then its forward routes (FORWARD_ROUTES_FILE)
export { loadProcessConfig, type ProcessConfig } from './process-config.ts';
export { createLogger } from './logger.ts';

// database: the core's tables and migrations, an app's migrations after them
export { type Database, type RequestRow, type RequestStatus } from './db/database.ts';
export { createDb } from './db/create-db.ts';
export { CORE_MIGRATIONS, migrate, type MigrationSet } from './db/migrator.ts';
export { coreMigrations } from './db/migrations/index.ts';
export { assertMigrated } from './db/check-migrations.ts';
export { anyUuid } from './db/any-uuid.ts';

// helpers for an app's own routes
export { IdParams } from './http/schemas.ts';
export { jsonResponse, NOT_FOUND, V1_PROBLEMS } from './http/openapi-responses.ts';
export { notFound, type Problem, problem, ProblemError } from './http/problem.ts';
export type { ProblemSlug } from './http/problem-types.ts';
export { isUuid, UUID_PATTERN } from './uuid.ts';
