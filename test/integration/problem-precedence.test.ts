import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { expectProblem } from '../helpers/problem.ts';

// The order docs/api.md gives (Idempotency semantics): authentication, then the key, then the body.
describe('which problem a POST with several faults gets', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
  });
  afterAll(() => ctx?.close());

  const post = (headers: Record<string, string>, payload: string) =>
    app.inject({ method: 'POST', url: '/v1/items', headers: { 'content-type': 'application/json', ...headers }, payload });

  it('no Idempotency-Key and a body that fails the schema: idempotency-key-missing', async () => {
    expectProblem(await post(auth(), '{"amount":"lots"}'), 400, 'idempotency-key-missing');
  });

  it('no Idempotency-Key and malformed JSON: idempotency-key-missing', async () => {
    expectProblem(await post(auth(), '{"amount":'), 400, 'idempotency-key-missing');
  });

  it('an invalid Idempotency-Key and a body of another type: idempotency-key-invalid', async () => {
    expectProblem(await post({ ...auth(), 'idempotency-key': '', 'content-type': 'text/plain' }, 'hello'), 400, 'idempotency-key-invalid');
  });

  it('no Authorization, no key, a bad body: unauthorized', async () => {
    expectProblem(await post({}, '{"amount":'), 401, 'unauthorized');
  });

  it('a key and a body that fails the schema: invalid-request', async () => {
    expectProblem(await post({ ...auth(), 'idempotency-key': 'k-1' }, '{"amount":"lots"}'), 400, 'invalid-request');
  });
});
