import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import type { Operation } from '../../src/operations/operation.ts';
import { loadProcessConfig } from '../../src/process-config.ts';
import { writeRoutesFile } from '../helpers/forward-routes.ts';

/** loadProcessConfig for a process that runs operations of these names and routes */
const loadWith = (operations: readonly { name: string; route: string }[]) => (env: Record<string, string>) =>
  loadProcessConfig(env, { operations: operations as unknown as Operation[] });

function problemsOf(load: (env: Record<string, string>) => unknown, env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('the environment was accepted');
}

describe('loadProcessConfig: the configuration and FORWARD_ROUTES_FILE', () => {
  const withFile = async (routes: unknown, run: (path: string) => void) => {
    const file = await writeRoutesFile(routes);
    try {
      run(file.path);
    } finally {
      await file.remove();
    }
  };

  it('has no forward routes unless a file is named', () => {
    expect(loadProcessConfig({}, { operations: [] }).operations).toEqual([]);
  });

  it('keeps only the path in the configuration, and reads the routes, frozen, with their defaults, as operations after the given ones', async () => {
    await withFile([{ name: 'orders.create', route: '/v1/orders', upstream: 'http://127.0.0.1:4000/orders' }], (path) => {
      expect(loadConfig({ FORWARD_ROUTES_FILE: path }).forwardRoutesFile).toBe(path);
      const { operations } = loadProcessConfig({ FORWARD_ROUTES_FILE: path }, { operations: [] });
      const routes = operations.map((op) => (op.kind === 'forward' ? op.forward : undefined));
      expect(routes.map((r) => [r?.name, r?.route, r?.timeoutMs, r?.maxAttempts])).toEqual([['orders.create', '/v1/orders', 10_000, 8]]);
      expect(Object.isFrozen(routes[0])).toBe(true);
    });
  });

  it("lists the file's problems, collisions with the given operations included, with the environment's", async () => {
    await withFile([{ name: 'items.create', route: '/v1/orders', upstream: 'http://127.0.0.1:4000/orders', timeoutMs: 1 }], (path) => {
      const problems = problemsOf(loadWith([]), { FORWARD_ROUTES_FILE: path, PORT: 'x' });
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatch(/^PORT: /);
      expect(problems[1]).toBe(`FORWARD_ROUTES_FILE (${path})[0] (items.create).timeoutMs: must be >= 100 (got 1)`);
    });
    await withFile([{ name: 'items.create', route: '/v1/orders', upstream: 'http://127.0.0.1:4000/orders' }], (path) => {
      expect(() => loadWith([{ name: 'items.create', route: '/v1/items' }])({ FORWARD_ROUTES_FILE: path })).toThrow(
        'FORWARD_ROUTES_FILE: items.create: the name is already used by the operation items.create; choose another name',
      );
    });
  });

  it('an invalid route and a route that collides with an operation, with API_KEYS, in one list', async () => {
    const { path, remove } = await writeRoutesFile([
      { name: 'orders.create', route: '/v1/orders', upstream: 'not a url' },
      { name: 'refunds.create', route: '/v1/items', upstream: 'http://127.0.0.1:4000/refunds' },
    ]);
    try {
      let problems: string[] = [];
      try {
        loadWith([{ name: 'items.create', route: '/v1/items' }])({ FORWARD_ROUTES_FILE: path, API_KEYS: 'acme:short' });
      } catch (err) {
        problems = (err as ConfigError).problems;
      }
      expect(
        problems.some((p) => p.startsWith('API_KEYS:')),
        problems.join('\n'),
      ).toBe(true);
      expect(
        problems.some((p) => /\[0\] \(orders\.create\)\.upstream/.test(p)),
        problems.join('\n'),
      ).toBe(true);
      expect(
        problems.some((p) => p.includes('/v1/items') && p.includes('items.create')),
        problems.join('\n'),
      ).toBe(true);
    } finally {
      await remove();
    }
  });
});
