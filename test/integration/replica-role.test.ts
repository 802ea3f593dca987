import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiDeps } from '../../src/deps.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { waitUntil } from '../helpers/wait-until.ts';

// DATABASE_READ_URL set to the primary's own URL: an easy slip, and it looked healthy (lag 0)
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext(({ url }) => ({ DATABASE_READ_URL: url }));
});
afterAll(() => ctx?.close());

describe('DATABASE_READ_URL naming the primary', () => {
  it('shows in readiness: replica "is the primary", status degraded (still 200)', async () => {
    const api = await ctx.startApi();
    const res = await api.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'degraded', checks: { postgres: 'ok', redis: 'ok', replica: 'is the primary' } });
  });

  it('is warned about at start, once, in words', async () => {
    const lines: Record<string, any>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { close } = await createApiDeps(ctx.config, log);
    try {
      const warning = await waitUntil(
        'the warning',
        async () => lines.find((l) => /DATABASE_READ_URL names the primary itself/.test(l.msg)),
        { timeoutMs: 5_000 },
      );
      expect(warning.level).toBe(40);
    } finally {
      await close();
    }
  });
});
