import Type from 'typebox';
import Value from 'typebox/value';
import { parseApiKeys } from './api-keys.ts';
import { credentialProblems, DEMO_ADMIN_TOKEN, DEMO_SECRET, isProduction } from './credential-checks.ts';
import { MAX_QUEUE_SHARDS } from './queue/queue-shards.ts';
import { parseClusterNodes } from './redis-cluster-nodes.ts';
import { parseTrustedProxies } from './trusted-proxies.ts';

const Int = (def: number, min: number, max = Number.MAX_SAFE_INTEGER) => Type.Integer({ default: def, minimum: min, maximum: max });

/** Every environment variable the processes read, with its default for the local services. */
export const EnvSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development' }),
  DATABASE_URL: Type.String({ default: 'postgres://postgres@127.0.0.1:5432/idemq', pattern: '^postgres(ql)?://' }),
  // a streaming replica for status reads (docs/operations.md, "Read replica"); unset: every read on the primary
  DATABASE_READ_URL: Type.String({ default: '', pattern: '^(postgres(ql)?://.*)?$' }),
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://' }),
  // host:port,host:port,… of a Redis Cluster's nodes (any few: the rest are discovered); checked by parseClusterNodes
  REDIS_CLUSTER_NODES: Type.String({ default: '' }),
  // the request queue is split into this many BullMQ queues, on different cluster slots
  QUEUE_SHARDS: Int(1, 1, MAX_QUEUE_SHARDS),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Int(3000, 0, 65535),
  // checked by parseApiKeys, which can say which entry is wrong without echoing it
  API_KEYS: Type.String({ default: `demo:${DEMO_SECRET}` }),
  // a revocation (npm run keys) reaches every API instance within about this; at most 3 s keeps that under 5 s
  API_KEYS_REFRESH_MS: Int(2_000, 100, 3_000),
  IDEMPOTENCY_TTL_SECONDS: Int(86_400, 1),
  // bytes of finished records an API instance keeps for replays (0: none); see docs/configuration.md
  REPLAY_CACHE_BYTES: Int(32 * 1024 * 1024, 0, 4 * 1024 * 1024 * 1024),
  QUEUE_PREFIX: Type.String({ default: 'idemq', pattern: '^[A-Za-z0-9_-]+$' }),
  LOG_LEVEL: Type.String({ default: 'info', pattern: '^(fatal|error|warn|info|debug|trace|silent)$' }),
  PG_POOL_SIZE: Int(10, 1, 500),
  PG_READ_POOL_SIZE: Int(5, 1, 500),
  WORKER_CONCURRENCY: Int(256, 1, 1000),
  RATE_LIMIT_PER_MINUTE: Int(6_000, 1),
  RATE_LIMIT_PER_ADDRESS_PER_MINUTE: Int(600, 1),
  // at least one body of the largest size (1 MiB), or no body that size could ever be submitted
  RATE_LIMIT_BYTES_PER_MINUTE: Int(300 * 1024 * 1024, 1024 * 1024),
  // a client's address is read from X-Forwarded-For only when the peer is one of these
  TRUSTED_PROXIES: Type.String({ default: '' }),
  // per socket, every message: keep it above what one client follows a second (it shares one socket)
  WS_MESSAGES_PER_SECOND: Int(5_000, 1),
  // per tenant, shared like RATE_LIMIT_PER_MINUTE; unset: the same number, so a tenant can follow all it may submit
  WS_SUBSCRIBES_PER_MINUTE: Type.Optional(Type.Integer({ minimum: 1 })),
  MAX_SOCKETS_PER_TENANT: Int(1_000, 1),
  MAX_HELD_PER_TENANT: Int(1_000, 1),
  // the shape of a JSON body (docs/api.md, "Limits"); beyond about 10,000 levels Postgres refuses jsonb
  MAX_BODY_DEPTH: Int(64, 1, 1_000),
  MAX_BODY_NODES: Int(10_000, 1),
  MAX_ATTEMPTS: Int(5, 1, 100),
  // a SIGKILLed worker's job is resumed within about JOB_LOCK_MS + 2 x STALLED_INTERVAL_MS (docs/operations.md)
  JOB_LOCK_MS: Int(5_000, 1_000),
  STALLED_INTERVAL_MS: Int(2_000, 500),
  // after Redis loses its data, lost jobs are re-added within about RECONCILE_AFTER_MS + RECONCILE_INTERVAL_MS
  RECONCILE_INTERVAL_MS: Int(2_000, 100),
  RECONCILE_AFTER_MS: Int(5_000, 0),
  EXPIRY_INTERVAL_MS: Int(60_000, 100),
  EXPIRY_BATCH_SIZE: Int(1_000, 1, 100_000),
  SHUTDOWN_TIMEOUT_MS: Int(10_000, 100),
  // on SIGTERM the API keeps serving this long with /readyz failing before it stops accepting (docs/operations.md)
  SHUTDOWN_DRAIN_MS: Int(5_000, 0, 120_000),
  // what one slow or idle client can hold: see docs/configuration.md
  HTTP_HEADERS_TIMEOUT_MS: Int(10_000, 50),
  HTTP_REQUEST_TIMEOUT_MS: Int(30_000, 50),
  HTTP_IDLE_TIMEOUT_MS: Int(30_000, 50),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Int(72_000, 50),
  HTTP_MAX_CONNECTIONS: Int(10_000, 1),
  // 0: a tenth of HTTP_MAX_CONNECTIONS (at least 1)
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: Int(0, 0),
  HEARTBEAT_FILE: Type.String({ default: '' }),
  WORKER_METRICS_PORT: Int(0, 0, 65535),
  WORKER_METRICS_HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  // a JSON file of routes forwarded to upstream services (docs/gateway.md)
  FORWARD_ROUTES_FILE: Type.String({ default: '' }),
  // the OpenAPI document and its UI on the public port too (opt-in); servers: PUBLIC_URL, else the request's origin
  PUBLIC_OPENAPI: Type.String({ default: 'false', pattern: '^(true|false)$' }),
  PUBLIC_URL: Type.String({ default: '', pattern: '^(https?://[^\\s/?#]+(/[^\\s?#]*)?)?$' }),
  // OpenTelemetry tracing, by the standard variables; off unless OTEL_TRACES_EXPORTER names an exporter
  OTEL_SDK_DISABLED: Type.String({ default: 'false', pattern: '^(true|false)$' }),
  OTEL_TRACES_EXPORTER: Type.String({ default: 'none', pattern: '^(none|otlp|console)$' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.String({ default: 'http://localhost:4318', pattern: '^https?://' }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Type.String({ default: '', pattern: '^(https?://.*)?$' }),
  OTEL_EXPORTER_OTLP_HEADERS: Type.String({ default: '' }),
  OTEL_SERVICE_NAME: Type.String({ default: '' }),
  OTEL_BSP_SCHEDULE_DELAY: Int(5_000, 0, 600_000),
  // the admin plane: /metrics, /docs, Bull Board and the request console, never on PORT
  ADMIN_HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  ADMIN_PORT: Int(9090, 0, 65535),
  ADMIN_TOKEN: Type.String({ default: DEMO_ADMIN_TOKEN, minLength: 16 }),
  // a login session ends this long after its login (or at its logout), on every instance
  ADMIN_SESSION_TTL_SECONDS: Int(28_800, 60, 30 * 86_400),
  // auto: the session cookie is Secure when the login came over https (through a trusted proxy too)
  ADMIN_COOKIE_SECURE: Type.String({ default: 'auto', pattern: '^(auto|true|false)$' }),
  // admin calls without a live session (bearer, login form, none) per client address per minute
  ADMIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: Int(60, 1),
});

const SECRET = new Set(['API_KEYS', 'DATABASE_URL', 'DATABASE_READ_URL', 'REDIS_URL', 'OTEL_EXPORTER_OTLP_HEADERS', 'ADMIN_TOKEN']);

/** What a variable checked by a pattern must look like, in words: a regular expression helps nobody at start-up. */
const EXPECTED: Record<string, string> = {
  DATABASE_URL: 'must be a postgres:// (or postgresql://) URL',
  DATABASE_READ_URL: 'must be a postgres:// (or postgresql://) URL, or empty for none',
  REDIS_URL: 'must be a redis:// (or rediss://) URL',
  QUEUE_PREFIX: 'must be letters, digits, "_" and "-" only',
  LOG_LEVEL: 'must be one of fatal, error, warn, info, debug, trace, silent',
  OTEL_SDK_DISABLED: 'must be true or false',
  OTEL_TRACES_EXPORTER: 'must be none, otlp (OTLP over HTTP) or console',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'must be an http:// or https:// URL',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'must be an http:// or https:// URL',
  ADMIN_COOKIE_SECURE: 'must be auto, true or false',
  PUBLIC_OPENAPI: 'must be true or false',
  PUBLIC_URL: 'must be an http:// or https:// URL (the API as its clients reach it), without a query',
};

export type Env = Type.Static<typeof EnvSchema>;

export interface Config {
  /** NODE_ENV is `production` (or `prod`), trimmed and in any case: no demo credentials, no weak secrets */
  production: boolean;
  databaseUrl: string;
  /** a streaming replica that serves status reads the lag cannot make go back in time; '' for none */
  databaseReadUrl: string;
  /** the standalone Redis; with `redisClusterNodes`, only its credentials and TLS (rediss://) are used */
  redisUrl: string;
  /** a Redis Cluster's seed nodes (REDIS_CLUSTER_NODES); empty: the standalone Redis at `redisUrl` */
  redisClusterNodes: readonly { host: string; port: number }[];
  /** BullMQ queues the requests are spread over (QUEUE_SHARDS), each consumed by every worker */
  queueShards: number;
  host: string;
  port: number;
  /** tenant id by API secret, from API_KEYS (the stored keys of `npm run keys` come from Postgres) */
  apiKeys: ReadonlyMap<string, string>;
  /** how often an API instance reads the stored keys again */
  apiKeysRefreshMs: number;
  idempotencyTtlSeconds: number;
  /** approximate heap bytes of finished records an API instance keeps for replays (0: no cache) */
  replayCacheBytes: number;
  queuePrefix: string;
  logLevel: string;
  pgPoolSize: number;
  /** the API's connections to the replica of `databaseReadUrl` */
  pgReadPoolSize: number;
  workerConcurrency: number;
  /** requests per tenant per minute, shared by every API instance (Redis) */
  rateLimitPerMinute: number;
  /** unauthenticated and failed-authentication requests per client address per minute, shared likewise */
  rateLimitPerAddressPerMinute: number;
  /** bytes of submitted bodies per tenant per minute, shared likewise */
  rateLimitBytesPerMinute: number;
  /** peers whose X-Forwarded-For names the client (addresses, CIDRs); empty: the peer is the client */
  trustedProxies: readonly string[];
  /** messages of any kind a WebSocket may send per second (in bursts of as many) */
  wsMessagesPerSecond: number;
  /** WebSocket subscribes (status look-ups) per tenant per minute, shared by every API instance (Redis) */
  wsSubscribesPerMinute: number;
  /** open WebSockets per tenant, per API instance */
  maxSocketsPerTenant: number;
  /** SSE streams and held long-polls per tenant, per API instance */
  maxHeldPerTenant: number;
  /** the default shape limits of a JSON body; an operation or forward route may set its own */
  jsonLimits: Readonly<{ maxDepth: number; maxNodes: number }>;
  /** attempts for a job that fails for a reason that is neither business nor transient infrastructure */
  maxAttempts: number;
  jobLockMs: number;
  stalledIntervalMs: number;
  reconcileIntervalMs: number;
  reconcileAfterMs: number;
  expiryIntervalMs: number;
  expiryBatchSize: number;
  shutdownTimeoutMs: number;
  /** on SIGTERM, how long the API still serves, with /readyz answering 503, before it stops accepting */
  shutdownDrainMs: number;
  /** HTTP server limits: every client's socket is bounded by these */
  http: {
    /** from a request's first byte to the end of its headers */
    headersTimeoutMs: number;
    /** from a request's first byte to the end of its body */
    requestTimeoutMs: number;
    /** no byte either way; long-polls, SSE and WebSocket set their own */
    idleTimeoutMs: number;
    /** an idle connection between requests */
    keepAliveTimeoutMs: number;
    /** open sockets at once (WebSocket and SSE included); an arrival at the cap closes idle keep-alive ones first, or is closed */
    maxConnections: number;
    /** open sockets one peer address (an IPv6 /64) may hold; trusted proxies are spared */
    maxConnectionsPerAddress: number;
  };
  /** a worker touches this file while it takes jobs, for container healthchecks; '' for none */
  heartbeatFile: string;
  /** where a worker serves its Prometheus metrics, behind `admin.token`; 0: not served */
  workerMetricsPort: number;
  workerMetricsHost: string;
  /**
   * the path of a JSON file of routes forwarded to upstream services (FORWARD_ROUTES_FILE); '' for
   * none. Only the path: the process entry reads the file (loadProcessConfig)
   */
  forwardRoutesFile: string;
  /** PUBLIC_OPENAPI and PUBLIC_URL: the document on the public port, and the server it names ('' for the request's origin) */
  publicOpenapi: { enabled: boolean; publicUrl: string };
  /** OpenTelemetry tracing (the standard OTEL_* variables); `exporter: 'none'` turns it off */
  tracing: TracingConfig;
  /** the API process's admin server: metrics, documents, Bull Board, the request console */
  admin: {
    host: string;
    /** 0: any free port */
    port: number;
    /** bearer token (or login) every admin route demands */
    token: string;
    /** a login session's life, enforced in Postgres */
    sessionTtlSeconds: number;
    /** whether the session cookie is marked Secure; `auto`: when the login came over https */
    cookieSecure: 'auto' | 'true' | 'false';
    /** admin calls without a live session, per client address per minute (login tries among them) */
    ratePerAddressPerMinute: number;
  };
}

export interface TracingConfig {
  exporter: 'none' | 'otlp' | 'console';
  /** where OTLP/HTTP spans are sent: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces */
  url: string;
  /** OTEL_EXPORTER_OTLP_HEADERS, e.g. a collector's API key; never logged */
  headers: Readonly<Record<string, string>>;
  /** OTEL_SERVICE_NAME; '' leaves the process's own name (idemq-api, idemq-worker) */
  serviceName: string;
  /** the batch span processor's delay between exports */
  scheduleDelayMs: number;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Reads and validates the configuration. The only reader of the environment.
 * Throws ConfigError listing every problem at once; returns a frozen object.
 * In production (isProduction: NODE_ENV trimmed, any case, `prod` too) API_KEYS defaults to none
 * (keys then come from the table that `npm run keys` manages). A process that serves the API
 * (`servesApi`, the default) is checked by credentialProblems: no demo credential in production
 * or on a non-loopback HOST/ADMIN_HOST, no weak secret in production; workers and migrations hold no credential.
 * FORWARD_ROUTES_FILE is only a path here: the file is read by the process entry (loadProcessConfig).
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, opts: { servesApi?: boolean } = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(EnvSchema.properties)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    // Only plain digits become numbers: Value.Convert would read "1.5" as 1, "true" as 1, "0x10" as 16.
    raw[name] = schema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  const value = Value.Default(EnvSchema, raw) as Record<string, unknown>;
  const problems = [...Value.Errors(EnvSchema, value)].map((e) => {
    const name = e.instancePath.slice(1);
    // secrets are never echoed back, not even in a start-up error
    const got = SECRET.has(name) ? '' : ` (got ${JSON.stringify(value[name])})`;
    const message = (e.keyword === 'pattern' && EXPECTED[name]) || e.message.replace(/^must be integer$/, 'must be an integer');
    return `${name || 'environment'}: ${message}${got}`;
  });
  const production = isProduction(String(value.NODE_ENV));
  // in production the public demo key is no default: keys live in Postgres (npm run keys)
  const apiKeysSet = env.API_KEYS !== undefined && env.API_KEYS !== '';
  const { apiKeys, problems: keyProblems } =
    production && !apiKeysSet ? { apiKeys: new Map<string, string>(), problems: [] } : parseApiKeys(String(value.API_KEYS));
  problems.push(...keyProblems);
  // a worker or a migration holds no API credential and listens for no client but a worker's metrics port
  if (opts.servesApi ?? true) {
    const named = new Set(problems.map((p) => p.slice(0, p.indexOf(':'))));
    problems.push(
      ...credentialProblems({
        production,
        // a malformed API_KEYS is one problem already
        apiKeys: keyProblems.length === 0 ? apiKeys : new Map(),
        apiKeysSet,
        adminToken: String(value.ADMIN_TOKEN),
        adminTokenSet: env.ADMIN_TOKEN !== undefined && env.ADMIN_TOKEN !== '',
        host: String(value.HOST),
        adminHost: String(value.ADMIN_HOST),
        port: value.PORT as number,
        adminPort: value.ADMIN_PORT as number,
        // a variable the schema refused already has its problem
      }).filter((p) => !named.has(p.slice(0, p.indexOf(':')))),
    );
  } else if ((value.WORKER_METRICS_PORT as number) > 0) {
    // a worker's metrics port is behind the admin token: the same rules as the admin server's
    const named = new Set(problems.map((p) => p.slice(0, p.indexOf(':'))));
    problems.push(
      ...credentialProblems({
        production,
        apiKeys: new Map(),
        apiKeysSet: true,
        adminToken: String(value.ADMIN_TOKEN),
        adminTokenSet: env.ADMIN_TOKEN !== undefined && env.ADMIN_TOKEN !== '',
        host: String(value.WORKER_METRICS_HOST),
        adminHost: String(value.WORKER_METRICS_HOST),
        port: 0,
        adminPort: 0,
        hostVariables: ['WORKER_METRICS_HOST', 'WORKER_METRICS_HOST'],
      }).filter((p) => !named.has(p.slice(0, p.indexOf(':')))),
    );
  }
  // Node refuses a headers deadline beyond the whole request's
  if ((value.HTTP_HEADERS_TIMEOUT_MS as number) > (value.HTTP_REQUEST_TIMEOUT_MS as number)) {
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (got ${value.HTTP_HEADERS_TIMEOUT_MS} > ${value.HTTP_REQUEST_TIMEOUT_MS})`,
    );
  }
  const clusterNodes = parseClusterNodes(String(value.REDIS_CLUSTER_NODES));
  problems.push(...clusterNodes.problems);
  const trustedProxies = parseTrustedProxies(String(value.TRUSTED_PROXIES));
  problems.push(...trustedProxies.problems);
  const otlpHeaders = parseOtlpHeaders(String(value.OTEL_EXPORTER_OTLP_HEADERS));
  if (!otlpHeaders) problems.push('OTEL_EXPORTER_OTLP_HEADERS: must be comma-separated key=value pairs');
  if (problems.length > 0) throw new ConfigError(problems);
  const e = value as Env;
  return Object.freeze({
    production,
    databaseUrl: e.DATABASE_URL,
    databaseReadUrl: e.DATABASE_READ_URL,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: Object.freeze(clusterNodes.nodes.map((n) => Object.freeze(n))),
    queueShards: e.QUEUE_SHARDS,
    host: e.HOST,
    port: e.PORT,
    apiKeys,
    apiKeysRefreshMs: e.API_KEYS_REFRESH_MS,
    idempotencyTtlSeconds: e.IDEMPOTENCY_TTL_SECONDS,
    replayCacheBytes: e.REPLAY_CACHE_BYTES,
    queuePrefix: e.QUEUE_PREFIX,
    logLevel: e.LOG_LEVEL,
    pgPoolSize: e.PG_POOL_SIZE,
    pgReadPoolSize: e.PG_READ_POOL_SIZE,
    workerConcurrency: e.WORKER_CONCURRENCY,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    rateLimitPerAddressPerMinute: e.RATE_LIMIT_PER_ADDRESS_PER_MINUTE,
    rateLimitBytesPerMinute: e.RATE_LIMIT_BYTES_PER_MINUTE,
    trustedProxies: Object.freeze(trustedProxies.proxies),
    wsMessagesPerSecond: e.WS_MESSAGES_PER_SECOND,
    wsSubscribesPerMinute: e.WS_SUBSCRIBES_PER_MINUTE ?? e.RATE_LIMIT_PER_MINUTE,
    maxSocketsPerTenant: e.MAX_SOCKETS_PER_TENANT,
    maxHeldPerTenant: e.MAX_HELD_PER_TENANT,
    jsonLimits: Object.freeze({ maxDepth: e.MAX_BODY_DEPTH, maxNodes: e.MAX_BODY_NODES }),
    maxAttempts: e.MAX_ATTEMPTS,
    jobLockMs: e.JOB_LOCK_MS,
    stalledIntervalMs: e.STALLED_INTERVAL_MS,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    reconcileAfterMs: e.RECONCILE_AFTER_MS,
    expiryIntervalMs: e.EXPIRY_INTERVAL_MS,
    expiryBatchSize: e.EXPIRY_BATCH_SIZE,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    http: Object.freeze({
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: e.HTTP_IDLE_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      maxConnectionsPerAddress: e.HTTP_MAX_CONNECTIONS_PER_ADDRESS || Math.max(1, Math.floor(e.HTTP_MAX_CONNECTIONS / 10)),
    }),
    heartbeatFile: e.HEARTBEAT_FILE,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    workerMetricsHost: e.WORKER_METRICS_HOST,
    forwardRoutesFile: e.FORWARD_ROUTES_FILE,
    publicOpenapi: Object.freeze({ enabled: e.PUBLIC_OPENAPI === 'true', publicUrl: e.PUBLIC_URL.replace(/\/+$/, '') }),
    tracing: Object.freeze({
      exporter: e.OTEL_SDK_DISABLED === 'true' ? 'none' : (e.OTEL_TRACES_EXPORTER as TracingConfig['exporter']),
      url: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`,
      headers: Object.freeze(otlpHeaders ?? {}),
      serviceName: e.OTEL_SERVICE_NAME,
      scheduleDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
    }),
    admin: Object.freeze({
      host: e.ADMIN_HOST,
      port: e.ADMIN_PORT,
      token: e.ADMIN_TOKEN,
      sessionTtlSeconds: e.ADMIN_SESSION_TTL_SECONDS,
      cookieSecure: e.ADMIN_COOKIE_SECURE as Config['admin']['cookieSecure'],
      ratePerAddressPerMinute: e.ADMIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE,
    }),
  });
}

/**
 * FORWARD_ROUTES_FILE as set ('' for none), whatever else the environment holds: a start with an
 * invalid environment still lists the routes file's problems with the others (loadProcessConfig).
 */
export function forwardRoutesFileOf(env: Record<string, string | undefined> = process.env): string {
  return env.FORWARD_ROUTES_FILE ?? '';
}

/** `k1=v1,k2=v2` (values URL-encoded, as the OpenTelemetry specification has them); undefined if malformed. */
function parseOtlpHeaders(text: string): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    try {
      headers[pair.slice(0, eq).trim()] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return headers;
}
