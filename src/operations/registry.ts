import { createAccount } from './accounts.create.ts';
import type { Operation } from './operation.ts';
import { createPayment } from './payments.create.ts';

/** Every operation the service runs. A new operation is one file in this folder plus one line here. */
export const operations: readonly Operation[] = [createAccount, createPayment] as Operation[];

const byName = new Map(operations.map((op) => [op.name, op]));

/** How a worker looks an operation up by its stored name; undefined: it does not run that operation. */
export type FindOperation = (name: string) => Operation | undefined;

export function findOperation(name: string): Operation | undefined {
  return byName.get(name);
}
