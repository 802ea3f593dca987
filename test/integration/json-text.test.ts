import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { expectProblem } from '../helpers/problem.ts';

// Postgres's jsonb refuses these inside strings (22P05); the JSON text itself is valid.
const HOSTILE = ['bad\u0000name', '\ud800', 'x\udc00y'];

describe('JSON text that Postgres cannot store', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
  });
  afterAll(() => ctx?.close());

  const count = async (tenant: string) =>
    Number(
      (
        await ctx.db
          .selectFrom('idemq.requests')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('tenant_id', '=', tenant)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it("one tenant's 100 hostile posts beside another's 300 clean ones: every clean one 202 and recorded, every hostile one 400 and not recorded", async () => {
    const clean = Array.from({ length: 300 }, (_, i) => () => submit(app, '/v1/items', { name: 'item', quantity: i }, { tenant: 'acme' }));
    const hostile = Array.from(
      { length: 100 },
      (_, i) => () => submit(app, '/v1/items', { quantity: i, name: HOSTILE[i % HOSTILE.length] }, { tenant: 'globex' }),
    );
    // interleaved, all at once, so they share the grouped INSERTs
    const calls = clean.map((c, i) => [c, hostile[i % 100]!] as const);
    const answers = await Promise.all(calls.flatMap(([c, h], i) => (i < 100 ? [c(), h()] : [c()])));
    const cleanAnswers = answers.filter((_, i) => !(i < 200 && i % 2 === 1));
    const hostileAnswers = answers.filter((_, i) => i < 200 && i % 2 === 1);

    expect(cleanAnswers.map((r) => r.statusCode)).toEqual(Array(300).fill(202));
    expect(hostileAnswers.map((r) => r.statusCode)).toEqual(Array(100).fill(400));
    const problem = expectProblem(hostileAnswers[0]!, 400, 'invalid-json-text');
    expect(problem.errors).toEqual([{ pointer: '#/name', detail: expect.any(String) }]);
    expect(await count('acme')).toBe(300);
    expect(await count('globex')).toBe(0);
  });

  it('finds the offending place in keys and in values, at any depth, for every operation route', async () => {
    const deep = submit(app, '/v1/items', { a: [{ 'b/~c': 'ok' }, { d: ['x', 'y\u0000'] }] });
    expect(expectProblem(await deep, 400, 'invalid-json-text').errors[0].pointer).toBe('#/a/1/d/1');
    const key = submit(app, '/v1/items', { name: 'item', quantity: 1, ['k\ud800']: 1 });
    expect(expectProblem(await key, 400, 'invalid-json-text').errors[0].pointer).toBe('#/k\ud800');
    const escaped = submit(app, '/v1/items', { 'a/b': { 'c~d': '\u0000' } });
    expect(expectProblem(await escaped, 400, 'invalid-json-text').errors[0].pointer).toBe('#/a~1b/c~0d');
    // a well-formed pair of surrogates is fine: this one fails the schema, not the text check
    expectProblem(await submit(app, '/v1/items', { quantity: 1, name: '😀'.repeat(300) }), 400, 'invalid-request');
    expect(await count('acme')).toBe(300);
  });

  it('refuses a deeply nested body for its depth, before its text is looked at, without running out of stack', async () => {
    const depth = 200_000;
    const text = `{"quantity":1,"name":${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}}`;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { authorization: 'Bearer sk_test_acme_0123456789', 'idempotency-key': 'deep', 'content-type': 'application/json' },
      payload: text,
    });
    const pointer: string = expectProblem(res, 400, 'body-too-deep').errors[0].pointer;
    expect(pointer).toBe(`#/name${'/0'.repeat(63)}`);
  });
});
