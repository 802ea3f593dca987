import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { appMigrations } from '../../src/app-definition.ts';
import { createApiDeps } from '../../src/deps.ts';
import { openStatusFeed } from '../../src/status/open-status-feed.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { startTcpProxy, type TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';

const REDIS = { host: '127.0.0.1', port: 6379 };
/** a graceful shutdown with Redis away ends within this (it waits for nothing of Redis's) */
const CLOSE_WITHIN_MS = 3_000;

const within = <T>(promise: Promise<T>, ms: number, what: string) => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
};

// Redis away since the start: the status feed's SUBSCRIBE still waits in ioredis' offline queue for a
// connection, and a QUIT queued behind it would wait for Redis to come back, holding the shutdown.
describe('API shut down while Redis has been unreachable since it started', () => {
  let ctx: TestContext | undefined;
  let proxy: TcpProxy | undefined;
  afterAll(async () => {
    await ctx?.close();
    await proxy?.close();
  });

  it('closes its connections (API deps, status feed) within a bound, Redis still away', async () => {
    proxy = await startTcpProxy(REDIS);
    proxy.cut();
    ctx = await createTestContext({ REDIS_URL: viaProxy('redis://127.0.0.1:6379', proxy) });
    const log = pino({ level: 'silent' });

    const feed = openStatusFeed(ctx.config, () => () => undefined);
    await within(feed.close(), CLOSE_WITHIN_MS, 'status feed close with Redis away');

    const { close } = await createApiDeps(ctx.config, log, appMigrations(ctx.app));
    const started = Date.now();
    await within(close(), CLOSE_WITHIN_MS, 'API deps close with Redis away');
    expect(Date.now() - started).toBeLessThan(CLOSE_WITHIN_MS);
  }, 20_000);
});
