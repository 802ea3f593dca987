import { describe, expectTypeOf, it } from 'vitest';
import { createClient, type RunResult, type SubmitBody, type SubmitRoute } from '../../clients/typescript/src/index.ts';
import type { paths as LedgerPaths } from '../../clients/typescript/examples/ledger-paths.ts';
import type { paths as FixturePaths } from '../fixtures/app/client-paths.ts';

// Checked by `tsc --noEmit` (part of `npm test`): the client is typed by the `paths` it is given.
describe("the client's types", () => {
  it("run answers with the result type of the route it was given, from that service's paths", () => {
    expectTypeOf<NonNullable<RunResult<LedgerPaths, '/v1/accounts'>['result']>['accountId']>().toEqualTypeOf<string>();
    expectTypeOf<NonNullable<RunResult<LedgerPaths, '/v1/payments'>['result']>>().toHaveProperty('paymentId');
    expectTypeOf<NonNullable<RunResult<FixturePaths, '/v1/items'>['result']>>().toEqualTypeOf<{
      itemId: string;
      name: string;
      quantity: number;
      left: number | null;
    }>();
  });

  it('the submit routes of a service are its POSTs with a JSON body, and only those', () => {
    expectTypeOf<SubmitRoute<FixturePaths>>().toEqualTypeOf<'/v1/items'>();
    expectTypeOf<SubmitRoute<LedgerPaths>>().toEqualTypeOf<'/v1/accounts' | '/v1/payments'>();
    expectTypeOf<SubmitBody<FixturePaths, '/v1/items'>>().toEqualTypeOf<{ name: string; quantity: number; takeFrom?: string }>();
  });

  it("a client of one service's paths does not compile a route or a body of another", () => {
    const items = createClient<FixturePaths>({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', WebSocket: null });
    // never called: the compiler is the test
    const uses = [
      () => items.submit('/v1/items', { name: 'bolt', quantity: 3 }),
      // @ts-expect-error the ledger's route, not this service's
      () => items.submit('/v1/payments', { amount: 1 }),
      // @ts-expect-error a read route: nothing to submit there
      () => items.run('/v1/items/{id}', {}),
      // @ts-expect-error quantity is a number
      () => items.run('/v1/items', { name: 'bolt', quantity: '3' }),
      // @ts-expect-error name is required
      () => items.submit('/v1/items', { quantity: 3 }),
      // @ts-expect-error no such field
      () => items.submit('/v1/items', { name: 'bolt', quantity: 3, colour: 'red' }),
    ];
    expectTypeOf(uses).toBeArray();
    expectTypeOf<Awaited<ReturnType<typeof items.run<'/v1/items'>>>['result']>().toEqualTypeOf<
      { itemId: string; name: string; quantity: number; left: number | null } | undefined
    >();
  });

  it("awaitOutcome of a submission has its route's result; of a bare id, unknown", () => {
    const items = createClient<FixturePaths>({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', WebSocket: null });
    type Item = { itemId: string; name: string; quantity: number; left: number | null };
    const follow = async () => {
      const submission = await items.submit('/v1/items', { name: 'bolt', quantity: 3 });
      expectTypeOf(submission.route).toEqualTypeOf<'/v1/items'>();
      expectTypeOf(submission.result).toEqualTypeOf<Item | undefined>();
      expectTypeOf((await items.awaitOutcome(submission)).result).toEqualTypeOf<Item | undefined>();
      expectTypeOf((await items.awaitOutcome(submission.id)).result).toEqualTypeOf<unknown>();
    };
    expectTypeOf(follow).toBeFunction();
  });

  it('a client without paths takes any route and body, and its result is unknown', () => {
    const any = createClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', WebSocket: null });
    expectTypeOf(any.submit).parameter(0).toEqualTypeOf<`/${string}`>();
    expectTypeOf<Awaited<ReturnType<typeof any.run>>['result']>().toEqualTypeOf<unknown>();
  });
});
