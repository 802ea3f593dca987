import Type from 'typebox';
import Value from 'typebox/value';

/** The headers idemq itself sets on every upstream call; a route cannot override them. */
export const RESERVED_UPSTREAM_HEADERS: readonly string[] = [
  'idempotency-key',
  'idemq-request-id',
  'idemq-tenant',
  'content-type',
  'content-length',
  'host',
];

const NAME_PATTERN = '^[a-z][a-z0-9_-]*(\\.[a-z][a-z0-9_-]*)*$';
const ROUTE_PATTERN = '^(/[A-Za-z0-9._~-]+)+$';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const RouteSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN, maxLength: 100 }),
    route: Type.String({ pattern: ROUTE_PATTERN, maxLength: 200 }),
    upstream: Type.String({ minLength: 1 }),
    summary: Type.Optional(Type.String({ maxLength: 200 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    /** first retry delay; doubles each attempt, with jitter */
    retryBaseMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000 })),
    /** the longest wait between attempts, Retry-After included */
    retryMaxMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400_000 })),
    /** static headers sent upstream, e.g. the upstream's own API key */
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** upstream response headers kept in the result, besides content-type */
    keepHeaders: Type.Optional(Type.Array(Type.String())),
    /** the most bytes of the upstream's answer that are read and stored */
    maxResponseBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 * 1024 })),
    /** this route's JSON body limits, in place of MAX_BODY_DEPTH and MAX_BODY_NODES */
    maxBodyDepth: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
    maxBodyNodes: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

/** One forward route, with every default filled in. */
export interface ForwardRoute {
  name: string;
  route: string;
  upstream: string;
  summary: string;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  headers: Readonly<Record<string, string>>;
  /** lower case */
  keepHeaders: readonly string[];
  maxResponseBytes: number;
  /** absent: the configuration's defaults */
  maxBodyDepth?: number;
  maxBodyNodes?: number;
}

export const FORWARD_DEFAULTS = {
  timeoutMs: 10_000,
  maxAttempts: 8,
  retryBaseMs: 500,
  retryMaxMs: 60_000,
  maxResponseBytes: 256 * 1024,
} as const;

const EXPECTED: Record<string, string> = {
  name: 'must be lower-case words separated by dots, e.g. "orders.create"',
  route: 'must be a path such as "/v1/orders" (letters, digits, ".", "_", "~", "-" between slashes)',
};

/** Routes of a routes file: `routes` usable only without `problems`; `valid`, the routes that passed their own checks. */
export interface ParsedRoutes {
  routes: ForwardRoute[];
  valid: ForwardRoute[];
  problems: string[];
}

/**
 * Validates the parsed routes file. Returns every problem, each prefixed with `where` and the
 * route it concerns, and the routes with their defaults; the routes are only usable when there
 * are no problems. Collisions between routes (name or path) are problems too; collisions with
 * other operations are the caller's to check (findRouteCollisions), on `valid`: the routes that
 * passed every check of their own, whatever the others' problems, so one start lists them all.
 */
export function parseForwardRoutes(document: unknown, where: string): ParsedRoutes {
  if (!Array.isArray(document))
    return {
      routes: [],
      valid: [],
      problems: [
        `${where}: must hold a JSON array of routes, e.g. [{ "name": "orders.create", "route": "/v1/orders", "upstream": "http://127.0.0.1:4000/orders" }]`,
      ],
    };
  const problems: string[] = [];
  const routes: ForwardRoute[] = [];
  for (const [i, raw] of document.entries()) {
    const label = `${where}[${i}]${typeof raw?.name === 'string' ? ` (${raw.name})` : ''}`;
    const errors = [...Value.Errors(RouteSchema, raw)].filter((e) => e.keyword !== 'boolean');
    for (const e of errors) problems.push(`${label}${describeError(e, raw)}`);
    // the checks the schema cannot express, on the fields that passed it, so nothing waits for a second start
    const failed = new Set(errors.map((e) => e.instancePath.split('/')[1]));
    const r = raw as Type.Static<typeof RouteSchema>;
    if (raw !== null && typeof raw === 'object') problems.push(...checkRoute(r, failed).map((p) => `${label}.${p}`));
    if (errors.length > 0) continue;
    routes.push({
      name: r.name,
      route: r.route,
      upstream: r.upstream,
      summary: r.summary ?? `Forwarded to ${safeOrigin(r.upstream)}`,
      timeoutMs: r.timeoutMs ?? FORWARD_DEFAULTS.timeoutMs,
      maxAttempts: r.maxAttempts ?? FORWARD_DEFAULTS.maxAttempts,
      retryBaseMs: r.retryBaseMs ?? FORWARD_DEFAULTS.retryBaseMs,
      retryMaxMs: r.retryMaxMs ?? FORWARD_DEFAULTS.retryMaxMs,
      headers: Object.freeze({ ...r.headers }),
      keepHeaders: Object.freeze((r.keepHeaders ?? []).map((h) => h.toLowerCase())),
      maxResponseBytes: r.maxResponseBytes ?? FORWARD_DEFAULTS.maxResponseBytes,
      ...(r.maxBodyDepth !== undefined && { maxBodyDepth: r.maxBodyDepth }),
      ...(r.maxBodyNodes !== undefined && { maxBodyNodes: r.maxBodyNodes }),
    });
  }
  problems.push(...findRouteCollisions(routes, []));
  return { routes: problems.length > 0 ? [] : routes, problems, valid: routes };
}

const FIELDS = Object.keys(RouteSchema.properties);

/** One schema error in words, with the value it got unless that may be a secret (header values). */
function describeError(
  e: { keyword: string; instancePath: string; message: string; params: Record<string, unknown> },
  raw: unknown,
): string {
  if (e.keyword === 'additionalProperties') {
    const unknown = (e.params.additionalProperties as string[] | undefined) ?? [];
    return `: unknown field${unknown.length === 1 ? '' : 's'} ${unknown.map((f) => JSON.stringify(f)).join(', ')}; the fields are ${FIELDS.join(', ')}`;
  }
  const path = e.instancePath.slice(1).split('/');
  const field = path[0] ?? '';
  const message = (e.keyword === 'pattern' && EXPECTED[field]) || e.message;
  const value = path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), raw);
  const got = field === 'headers' || value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  return `${field ? `.${path.join('.')}` : ''}: ${message}${got}`;
}

/** Problems of one route that its schema cannot express. */
function checkRoute(r: Type.Static<typeof RouteSchema>, failed: ReadonlySet<string | undefined>): string[] {
  const problems: string[] = [];
  const ok = (field: string) => !failed.has(field) && (r as Record<string, unknown>)[field] !== undefined;
  let url: URL | undefined;
  if (ok('upstream')) {
    try {
      url = new URL(r.upstream);
    } catch {
      problems.push(`upstream: must be an absolute http:// or https:// URL (got ${JSON.stringify(r.upstream)})`);
    }
  }
  if (url && url.protocol !== 'http:' && url.protocol !== 'https:')
    problems.push(`upstream: must be an http:// or https:// URL (got ${url.protocol})`);
  if (url && (url.username || url.password)) problems.push('upstream: must not hold credentials; send them with "headers" instead');
  for (const [name, value] of ok('headers') ? Object.entries(r.headers!) : []) {
    if (!HEADER_NAME.test(name)) problems.push(`headers: ${JSON.stringify(name)} is not a valid header name`);
    else if (RESERVED_UPSTREAM_HEADERS.includes(name.toLowerCase()))
      problems.push(`headers: ${name} is set by idemq on every call; remove it`);
    // values are never echoed: they are often secrets
    if (/[\r\n\0]/.test(value)) problems.push(`headers: the value of ${name} holds a line break or NUL`);
  }
  for (const name of ok('keepHeaders') ? r.keepHeaders! : []) {
    if (!HEADER_NAME.test(name)) problems.push(`keepHeaders: ${JSON.stringify(name)} is not a valid header name`);
  }
  if (ok('retryBaseMs') && ok('retryMaxMs') && r.retryBaseMs! > r.retryMaxMs!) {
    problems.push(`retryBaseMs: must not exceed retryMaxMs (got ${r.retryBaseMs} > ${r.retryMaxMs})`);
  }
  return problems;
}

/** The upstream's origin, for summaries and logs: never its path or query, which may carry a token. */
export function safeOrigin(upstream: string): string {
  try {
    return new URL(upstream).origin;
  } catch {
    return 'the upstream';
  }
}

/**
 * Names and routes used twice, among the forward routes or with the operations the process runs
 * otherwise (`taken`). One problem per clash, naming both sides.
 */
export function findRouteCollisions(
  routes: readonly { name: string; route: string }[],
  taken: readonly { name: string; route: string }[],
): string[] {
  const problems: string[] = [];
  const names = new Map(taken.map((op) => [op.name, `the operation ${op.name}`]));
  const paths = new Map(taken.map((op) => [op.route.toLowerCase(), `the operation ${op.name}`]));
  for (const r of routes) {
    const nameOwner = names.get(r.name);
    if (nameOwner) problems.push(`${r.name}: the name is already used by ${nameOwner}; choose another name`);
    else names.set(r.name, `the route ${r.name}`);
    const pathOwner = paths.get(r.route.toLowerCase());
    if (pathOwner) problems.push(`${r.name}: the route POST ${r.route} is already used by ${pathOwner}; choose another route`);
    else paths.set(r.route.toLowerCase(), `the route ${r.name}`);
  }
  return problems;
}
