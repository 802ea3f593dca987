import Type from 'typebox';
import type { ForwardOperation, OperationSpec } from '../operation.ts';
import type { ForwardRoute } from './forward-route.ts';

/** Any JSON document: the upstream validates what it receives. */
export const ForwardInput = Type.Unknown({ description: 'any JSON document, sent to the upstream as it is' });

/** A succeeded forwarded request's `result`: the upstream's 2xx answer. */
export const ForwardOutput = Type.Object(
  {
    status: Type.Integer({ minimum: 200, maximum: 299 }),
    headers: Type.Record(Type.String(), Type.String(), { description: "content-type and the route's keepHeaders" }),
    body: Type.Unknown({ description: 'parsed when the upstream answered JSON, its text otherwise; null when empty' }),
    truncated: Type.Optional(Type.Literal(true, { description: "the body was longer than the route's maxResponseBytes and was cut" })),
  },
  { description: "the upstream's answer" },
);

/** A forward route as an operation of kind `forward`: its submit side is every operation's. */
export function forwardOperation(route: ForwardRoute): ForwardOperation {
  const jsonLimits = {
    ...(route.maxBodyDepth !== undefined && { maxDepth: route.maxBodyDepth }),
    ...(route.maxBodyNodes !== undefined && { maxNodes: route.maxBodyNodes }),
  };
  return {
    kind: 'forward',
    name: route.name,
    route: route.route,
    summary: route.summary,
    input: ForwardInput,
    output: ForwardOutput,
    forward: route,
    jsonLimits,
  };
}

/**
 * The operations a process runs: the app's, then its forward routes (FORWARD_ROUTES_FILE, read by
 * loadProcessConfig). The API and the workers both build their list here, so they agree.
 */
export function withForwardRoutes<T extends OperationSpec>(
  operations: readonly T[],
  routes: readonly ForwardRoute[],
): (T | ForwardOperation)[] {
  return [...operations, ...routes.map(forwardOperation)];
}
