import type { Operation, OperationSpec } from './operation.ts';

/** The operations one process serves, looked up by the name stored with each request. */
export interface Registry {
  readonly operations: readonly Operation[];
  /** undefined: this process does not run that operation */
  find(name: string): Operation | undefined;
}

/** How a worker looks an operation up by its stored name; undefined: it does not run that operation. */
export type FindOperation = (name: string) => Operation | undefined;

/**
 * Builds the registry from the operations the caller passes in. Throws, naming both, if two share
 * a name (a stored request must mean one thing) or a route (one POST route submits one operation).
 */
export function createRegistry(operations: readonly Operation[]): Registry {
  assertDistinct(operations);
  const byName = new Map(operations.map((op) => [op.name, op]));
  return { operations, find: (name) => byName.get(name) };
}

/** Refuses two operations with one name or one route (compared as Fastify routes them: case-sensitive, without a trailing slash). */
export function assertDistinct(operations: readonly OperationSpec[]): void {
  const names = new Map<string, OperationSpec>();
  const routes = new Map<string, OperationSpec>();
  for (const op of operations) {
    const sameName = names.get(op.name);
    if (sameName)
      throw new Error(
        `Two operations are named "${op.name}" (routes ${sameName.route} and ${op.route}); each operation needs a name of its own.`,
      );
    const route = op.route.replace(/\/+$/, '');
    const sameRoute = routes.get(route);
    if (sameRoute)
      throw new Error(
        `Operations "${sameRoute.name}" and "${op.name}" both use the route POST ${op.route}; each operation needs a route of its own.`,
      );
    names.set(op.name, op);
    routes.set(route, op);
  }
}
