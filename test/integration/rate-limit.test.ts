import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { countRequests, submit } from '../helpers/ledger.ts';
import { expectProblem } from '../helpers/problem.ts';

describe('rate limit (RATE_LIMIT_PER_MINUTE=3)', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: '3' });
    app = await ctx.startApi();
  });
  afterAll(() => ctx.close());

  const account = { currency: 'USD', openingBalance: 1 };

  it('answers 429 problem+json with Retry-After, records nothing, and limits each tenant on its own', async () => {
    const first = await submit(app, '/v1/accounts', account, { key: 'limited' });
    expect(first.statusCode).toBe(202);
    // a replay counts like any call
    expect((await submit(app, '/v1/accounts', account, { key: 'limited' })).statusCode).toBe(202);
    expect((await submit(app, '/v1/accounts', account)).statusCode).toBe(202);
    const before = await countRequests(ctx);

    const limited = await submit(app, '/v1/accounts', account, { key: 'over-the-limit' });
    expectProblem(limited, 429, 'rate-limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const replayLimited = await submit(app, '/v1/accounts', account, { key: 'limited' });
    expectProblem(replayLimited, 429, 'rate-limited');
    expect(await countRequests(ctx)).toBe(before);

    const otherTenant = await submit(app, '/v1/accounts', account, { key: 'limited', tenant: 'globex' });
    expect(otherTenant.statusCode).toBe(202);
  });
});
