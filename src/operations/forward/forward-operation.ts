import Type from 'typebox';
import type { ForwardRoute } from './forward-route.ts';

/** What the submit side needs of any operation: the same idempotency contract for every kind. */
export interface SubmitSpec {
  name: string;
  route: string;
  summary: string;
  input: Type.TSchema;
}

/** Any JSON document: the upstream validates what it receives. */
export const ForwardInput = Type.Unknown({ description: 'any JSON document, sent to the upstream as it is' });

/** The submit side of a forward route. */
export function forwardSubmitSpec(route: ForwardRoute): SubmitSpec {
  return { name: route.name, route: route.route, summary: route.summary, input: ForwardInput };
}
