import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { upstreamKeyFor } from '../../src/operations/forward/upstream-key.ts';
import { type ApiProcess, startApiProcess } from '../helpers/api-process.ts';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { writeRoutesFile } from '../helpers/forward-routes.ts';
import { startNginx, type PrivateNginx } from '../helpers/nginx.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { startUpstreamServer, type UpstreamServer } from '../helpers/upstream-server.ts';
import { waitUntil } from '../helpers/wait-until.ts';

/** keyed POSTs per second through nginx, from this many clients at once */
const RATE_PER_S = 120;
const CLIENTS = 12;
/** how long each instance drains when stopped (SHUTDOWN_DRAIN_MS): short, to keep the test bounded */
const DRAIN_MS = 1_500;

interface Outcome {
  key: string;
  status: number;
  /** a socket error between the client and nginx */
  error?: string;
  at: number;
}

describe('availability through deploy/nginx/idemq.conf while one API crashes and the other restarts', () => {
  let upstream: UpstreamServer;
  let routesFile: Awaited<ReturnType<typeof writeRoutesFile>>;
  let ctx: TestContext;
  let nginx: PrivateNginx;
  const apis: ApiProcess[] = [];
  let ports: number[];
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });

  beforeAll(async () => {
    upstream = await startUpstreamServer();
    routesFile = await writeRoutesFile([
      { name: 'orders.create', route: '/v1/orders', upstream: `${upstream.url}/orders`, timeoutMs: 5_000 },
    ]);
    ctx = await createTestContext({ FORWARD_ROUTES_FILE: routesFile.path }, { operations: [] });
    ports = [await freePort(), await freePort()];
    apis.push(...(await Promise.all(ports.map((port) => start(port)))));
    nginx = await startNginx(ports.map((port) => `127.0.0.1:${port}`));
    await ctx.startWorker();
  }, 200_000);
  afterAll(async () => {
    agent.destroy();
    await nginx?.stop();
    await Promise.all(apis.map((api) => api.kill()));
    await ctx?.close();
    await upstream?.close();
    await routesFile?.remove();
    if (ctx) await deleteQueueKeys(ctx.config.queuePrefix);
  });

  // a generous SHUTDOWN_TIMEOUT_MS: a slow machine under this load may take seconds to close, and
  // the test is about the drain, not about that deadline
  const start = (port: number) =>
    startApiProcess(ctx, port, { FORWARD_ROUTES_FILE: routesFile.path, SHUTDOWN_DRAIN_MS: String(DRAIN_MS), SHUTDOWN_TIMEOUT_MS: '15000' });

  function post(key: string): Promise<Outcome> {
    return new Promise((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: nginx.port,
          path: '/v1/orders',
          method: 'POST',
          agent,
          headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': key },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ key, status: res.statusCode ?? 0, at: Date.now() }));
          res.on('error', (err) => resolve({ key, status: 0, error: err.message, at: Date.now() }));
        },
      );
      req.on('error', (err) => resolve({ key, status: 0, error: err.message, at: Date.now() }));
      req.end(JSON.stringify({ sku: 'tea', quantity: 1 }));
    });
  }

  /** CLIENTS clients, each sending one keyed POST after the other at RATE_PER_S in all, until `until` resolves. */
  async function load(until: Promise<unknown>): Promise<Outcome[]> {
    let stopped = false;
    const stop = () => (stopped = true);
    until.then(stop, stop);
    const outcomes: Outcome[] = [];
    const interval = (1_000 * CLIENTS) / RATE_PER_S;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        await sleep((interval * i) / CLIENTS);
        // bounded however slow the machine: at most 60 s of sends
        for (let next = Date.now(), end = Date.now() + 60_000; !stopped && Date.now() < end;) {
          outcomes.push(await post(randomUUID()));
          next += interval;
          await sleep(Math.max(0, next - Date.now()));
        }
      }),
    );
    await until;
    return outcomes;
  }

  it('keeps client-visible errors under 0.1% through a SIGKILL and a SIGTERM restart, each accepted request done once', async () => {
    const events: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => events.push(`${((Date.now() - t0) / 1_000).toFixed(1)} s ${what}`);
    const script = (async () => {
      await sleep(2_000);
      mark('SIGKILL api-1');
      await apis[0]!.kill();
      apis[0] = await start(ports[0]!);
      mark('api-1 listens again');
      await sleep(2_500);
      mark('SIGTERM api-2');
      const stopping = apis[1]!;
      expect(await stopping.stop(), stopping.output()).toBe(0);
      mark('api-2 exited');
      apis[1] = await start(ports[1]!);
      mark('api-2 listens again');
      await sleep(2_000);
      mark('load ends');
    })();
    const outcomes = await load(script);

    const accepted = outcomes.filter((o) => o.status === 202);
    const failed = outcomes.filter((o) => o.status !== 202);
    const byStatus: Record<string, number> = {};
    for (const o of failed) byStatus[o.error ?? String(o.status)] = (byStatus[o.error ?? String(o.status)] ?? 0) + 1;
    const report =
      `${failed.length} of ${outcomes.length} POSTs failed (${((100 * failed.length) / outcomes.length).toFixed(2)}%): ${JSON.stringify(byStatus)}\n${events.join('\n')}\n${await nginx.errorLog()}`.slice(
        0,
        6_000,
      );
    console.log(report.split('\n').slice(0, 8).join('\n'));
    expect(outcomes.length).toBeGreaterThan(500);
    expect(failed.length / outcomes.length, report).toBeLessThan(0.001);

    // every accepted request is recorded once and runs once
    const keys = accepted.map((o) => o.key);
    const rows = async () =>
      ctx.db.selectFrom('idemq.requests').select(['idempotency_key', 'status']).where('idempotency_key', 'in', keys).execute();
    const unfinished = async () => {
      const statuses: Record<string, number> = {};
      for (const r of await rows()) if (r.status !== 'succeeded') statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      return statuses;
    };
    await waitUntil('every accepted request to finish', async () => Object.keys(await unfinished()).length === 0, {
      timeoutMs: 90_000,
      intervalMs: 250,
    }).catch(async (err) => Promise.reject(new Error(`${err.message}: ${JSON.stringify(await unfinished())} of ${keys.length}`)));
    const done = await rows();
    expect(done).toHaveLength(keys.length);
    expect(keys.filter((key) => upstream.effects.get(upstreamKeyFor('acme', key)) !== 1)).toEqual([]);
  }, 300_000);
});
