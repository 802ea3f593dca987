import { describe, expect, it } from 'vitest';
import { FORWARD_DEFAULTS, findRouteCollisions, parseForwardRoutes } from '../../src/operations/forward/forward-route.ts';

const ok = { name: 'orders.create', route: '/v1/orders', upstream: 'http://127.0.0.1:4000/orders' };

describe('parseForwardRoutes', () => {
  it('fills the defaults and lower-cases kept headers', () => {
    const { routes, problems } = parseForwardRoutes([{ ...ok, keepHeaders: ['Location'] }], 'f');
    expect(problems).toEqual([]);
    expect(routes).toEqual([
      {
        ...ok,
        summary: 'Forwarded to http://127.0.0.1:4000',
        timeoutMs: FORWARD_DEFAULTS.timeoutMs,
        maxAttempts: FORWARD_DEFAULTS.maxAttempts,
        retryBaseMs: FORWARD_DEFAULTS.retryBaseMs,
        retryMaxMs: FORWARD_DEFAULTS.retryMaxMs,
        headers: {},
        keepHeaders: ['location'],
        maxResponseBytes: FORWARD_DEFAULTS.maxResponseBytes,
      },
    ]);
  });

  it('refuses a document that is not an array, saying what it should hold', () => {
    const { routes, problems } = parseForwardRoutes({ routes: [ok] }, 'f');
    expect(routes).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^f: must hold a JSON array of routes/);
  });

  it('lists every problem of every route once, naming the route and the field, and returns no routes', () => {
    const { routes, problems } = parseForwardRoutes(
      [
        { ...ok, name: 'Orders Create', timeoutMs: 5, color: 'red' },
        { name: 'b.create', route: 'v1/b', upstream: 'ftp://x/y' },
        {
          name: 'c.create',
          route: '/v1/c',
          upstream: 'https://user:pw@c.example/x',
          headers: { 'Idempotency-Key': 'x', 'bad header': 'v', 'x-key': 'a\r\nb' },
          retryBaseMs: 5_000,
          retryMaxMs: 1_000,
        },
        { route: '/v1/d' },
        ok,
      ],
      'f',
    );
    expect(routes).toEqual([]);
    expect(problems).toEqual([
      'f[0] (Orders Create): unknown field "color"; the fields are name, route, upstream, summary, timeoutMs, maxAttempts, retryBaseMs, retryMaxMs, headers, keepHeaders, maxResponseBytes, maxBodyDepth, maxBodyNodes',
      'f[0] (Orders Create).name: must be lower-case words separated by dots, e.g. "orders.create" (got "Orders Create")',
      'f[0] (Orders Create).timeoutMs: must be >= 100 (got 5)',
      'f[1] (b.create).route: must be a path such as "/v1/orders" (letters, digits, ".", "_", "~", "-" between slashes) (got "v1/b")',
      'f[1] (b.create).upstream: must be an http:// or https:// URL (got ftp:)',
      'f[2] (c.create).upstream: must not hold credentials; send them with "headers" instead',
      'f[2] (c.create).headers: Idempotency-Key is set by idemq on every call; remove it',
      'f[2] (c.create).headers: "bad header" is not a valid header name',
      'f[2] (c.create).headers: the value of x-key holds a line break or NUL',
      'f[2] (c.create).retryBaseMs: must not exceed retryMaxMs (got 5000 > 1000)',
      expect.stringMatching(/^f\[3\]: must have required properties? name, upstream/),
    ]);
    expect(problems.join('\n')).not.toContain('pw');
  });

  it('never echoes a header value, even a malformed one', () => {
    const { problems } = parseForwardRoutes([{ ...ok, headers: { 'x-api-key': 42 } }], 'f');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^f\[0\] \(orders\.create\)\.headers\.x-api-key: must be string$/);
  });

  it('refuses two routes with one name or one path', () => {
    const { problems } = parseForwardRoutes([ok, { ...ok, route: '/v1/other' }, { ...ok, name: 'other.create' }], 'f');
    expect(problems).toEqual([
      'orders.create: the name is already used by the route orders.create; choose another name',
      'other.create: the route POST /v1/orders is already used by the route orders.create; choose another route',
    ]);
  });
});

describe('findRouteCollisions', () => {
  it('names the operation a route collides with', () => {
    expect(
      findRouteCollisions(
        [
          { name: 'items.create', route: '/v1/take' },
          { name: 'x.create', route: '/v1/Labels' },
        ],
        [
          { name: 'items.create', route: '/v1/items' },
          { name: 'labels.create', route: '/v1/labels' },
        ],
      ),
    ).toEqual([
      'items.create: the name is already used by the operation items.create; choose another name',
      'x.create: the route POST /v1/Labels is already used by the operation labels.create; choose another route',
    ]);
  });
});
