import { describe, expectTypeOf, it } from 'vitest';
import type { RunResult } from '../../clients/typescript/src/index.ts';

// Checked by `tsc --noEmit` (part of `npm test`): the client README says answers are typed from the document.
describe("the client's types", () => {
  it('run answers with the result type of the route it was given', () => {
    expectTypeOf<NonNullable<RunResult<'/v1/accounts'>['result']>['accountId']>().toEqualTypeOf<string>();
    expectTypeOf<NonNullable<RunResult<'/v1/payments'>['result']>>().toHaveProperty('paymentId');
  });
});
