import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RequestStatus } from '../../src/db/database.ts';
import { markProcessing } from '../../src/idempotency/request-completion.repository.ts';
import { REDIS_PROTOCOL } from '../../src/redis.ts';
import { statusChannel } from '../../src/outbox/status-channels.ts';
import { createPublisher } from '../../src/outbox/status-publisher.ts';
import { relayOnce } from '../../workers/outbox-relay.ts';
import type { WorkerHandle } from '../../workers/start-worker.ts';
import { adminAuth, auth, createTestContext, replicaServersOfFile, routeReadsToReplica, type TestContext } from '../helpers/context.ts';
import { createItem } from '../helpers/items.ts';
import { submit } from '../helpers/submit.ts';
import { parseSamples, type Sample, valueOf } from '../helpers/prometheus-text.ts';
import { startTcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';
import type { ReplicaServers } from '../helpers/replica.ts';
import { waitUntil } from '../helpers/wait-until.ts';
import { openSocket } from '../helpers/ws-client.ts';

// every context of this file: a private primary, its streaming standby, DATABASE_READ_URL on it
routeReadsToReplica();

const RANK: Record<RequestStatus, number> = { queued: 0, processing: 1, succeeded: 2, failed: 2 };

/** The states one client saw, in order, never older than one it saw before. */
function expectNeverBackInTime(seen: RequestStatus[]): void {
  for (let i = 1; i < seen.length; i++) expect(RANK[seen[i]!], seen.join(' → ')).toBeGreaterThanOrEqual(RANK[seen[i - 1]!]);
}

describe('status reads on a streaming replica', () => {
  let servers: ReplicaServers;
  let ctx: TestContext;
  let api: FastifyInstance;
  let admin: FastifyInstance;
  let base: string;
  let worker: WorkerHandle;

  const metrics = async (): Promise<Sample[]> => parseSamples((await admin.inject({ url: '/metrics', headers: adminAuth })).body);
  const reads = async () => {
    const samples = await metrics();
    const of = (source: string, reason: string) => valueOf(samples, 'idemq_status_reads_total', { source, reason });
    return {
      replica: of('replica', 'terminal'),
      current: of('replica', 'current'),
      missing: of('primary', 'missing'),
      unfinished: of('primary', 'unfinished'),
      behind: of('primary', 'behind'),
      expiring: of('primary', 'expiring'),
      failed: of('primary', 'failed'),
      down: of('primary', 'down'),
    };
  };
  const get = (id: string, query = '') => api.inject({ url: `/v1/requests/${id}${query}`, headers: auth() });
  const take = async (source: string, headers: Record<string, string> = {}, key?: string) =>
    submit(api, '/v1/items', { name: 'item', quantity: 1, takeFrom: source }, { headers, key });

  let source: string;
  beforeAll(async () => {
    servers = await replicaServersOfFile();
    ctx = await createTestContext();
    api = await ctx.startApi();
    admin = await ctx.startAdmin(api);
    base = await api.listen({ port: 0, host: '127.0.0.1' });
    worker = await ctx.startWorker();
    source = await createItem(api, 1_000_000);
  }, 60_000);
  afterEach(async () => {
    await servers.standby.resumeReplay().catch(() => undefined);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('with replay paused, shows a request accepted and completed on the primary by GET, long-poll, Prefer: wait, SSE and WebSocket, never a 404 after its 202 nor an older state after a newer one', async () => {
    await servers.standby.caughtUp(servers.primaryServer);
    await servers.standby.pauseReplay();
    const before = await reads();

    const waited = await take(source, { prefer: 'wait=10' });
    expect(waited.statusCode, waited.body).toBe(200);
    expect(waited.json().status).toBe('succeeded');

    await worker.close();
    const key = `paused-${Date.now()}`;
    const posted = await take(source, {}, key);
    expect(posted.statusCode).toBe(202);
    const id: string = posted.json().id;
    const polled: RequestStatus[] = [];
    const first = await get(id);
    expect(first.statusCode, first.body).toBe(200);
    polled.push(first.json().status);

    const socket = await openSocket(`${base.replace('http', 'ws')}/v1/ws`, auth());
    socket.send({ type: 'subscribe', requestId: id });
    const sse = fetch(`${base}/v1/requests/${id}/events`, { headers: auth() }).then((r) => r.text());
    const longPoll = get(id, '?wait=10');
    const preferWait = take(source, { prefer: 'wait=10' }, key);
    await socket.next((m) => m.type === 'status' && m.requestId === id);
    worker = await ctx.startWorker();

    const pushed = await socket.next((m) => m.type === 'status' && m.status === 'succeeded');
    expect(pushed.requestId).toBe(id);
    expectNeverBackInTime(socket.messages.filter((m) => m.type === 'status').map((m) => m.status));
    socket.ws.close();
    const events = [...(await sse).matchAll(/id: (\d+)\nevent: status\ndata: (.*)\n\n/g)].map((m) => ({
      id: Number(m[1]),
      status: JSON.parse(m[2]!).status,
    }));
    expect(events.at(-1)?.status).toBe('succeeded');
    expectNeverBackInTime(events.map((e) => e.status));
    expect(events.map((e) => e.id)).toEqual(events.map((e) => e.id).sort((x, y) => x - y));
    const long = await longPoll;
    expect(long.statusCode).toBe(200);
    polled.push(long.json().status);
    const replayed = await preferWait;
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.json()).toMatchObject({ id, status: 'succeeded' });
    for (let i = 0; i < 5; i++) polled.push((await get(id)).json().status);
    expect(polled.slice(1)).toEqual(Array(6).fill('succeeded'));
    expectNeverBackInTime(polled);

    // the replica, frozen before these requests, answered none of their reads: the primary did
    const after = await reads();
    expect(after.replica - before.replica).toBe(0);
    expect(after.current - before.current).toBe(0);
    expect(after.missing - before.missing).toBeGreaterThan(0);
  });

  it('with replay running, answers the reads of finished requests from the replica', async () => {
    const done = await take(source, { prefer: 'wait=10' });
    expect(done.json().status).toBe('succeeded');
    const id: string = done.json().id;
    await servers.standby.caughtUp(servers.primaryServer);
    const before = await reads();

    // one after another: reads of one id in the same batch are one read
    for (let i = 0; i < 10; i++) expect((await get(id)).json()).toEqual(done.json());
    const socket = await openSocket(`${base.replace('http', 'ws')}/v1/ws`, auth());
    socket.send({ type: 'subscribe', requestId: id });
    expect(await socket.next((m) => m.type === 'status')).toMatchObject({ requestId: id, status: 'succeeded' });
    socket.ws.close();
    const sse = await (await fetch(`${base}/v1/requests/${id}/events`, { headers: auth() })).text();
    expect(sse).toContain('"status":"succeeded"');
    expect((await get(id, '?wait=5')).json().status).toBe('succeeded');
    // another tenant's read of it is a 404 there too
    expect((await api.inject({ url: `/v1/requests/${id}`, headers: auth('globex') })).statusCode).toBe(404);

    const after = await reads();
    // 10 GETs, the socket's read, the stream's two (its check, then its follow), the long-poll's, the other tenant's
    expect(after.replica - before.replica).toBe(15);
    expect(after.missing + after.unfinished - (before.missing + before.unfinished)).toBe(0);
  });

  it('reads the change a follower was woken for on the replica once it has replayed it, and on the primary while it has not', async () => {
    await worker.close();
    const redis = new Redis(ctx.config.redisUrl, REDIS_PROTOCOL);
    const publish = createPublisher(redis, statusChannel(ctx.config.queuePrefix));
    const socket = await openSocket(`${base.replace('http', 'ws')}/v1/ws`, auth());
    try {
      const follow = async (paused: boolean) => {
        const id: string = (await take(source)).json().id;
        socket.send({ type: 'subscribe', requestId: id });
        await socket.next((m) => m.type === 'status' && m.requestId === id && m.status === 'queued');
        await servers.standby.caughtUp(servers.primaryServer);
        if (paused) await servers.standby.pauseReplay();
        const before = await reads();
        // the worker's own step, and the relay's publication of its event, by hand: nothing else changes the request
        await markProcessing(ctx.db, [id]);
        if (!paused) await servers.standby.caughtUp(servers.primaryServer);
        await relayOnce(ctx.db, publish);
        await socket.next((m) => m.type === 'status' && m.requestId === id && m.status === 'processing');
        const after = await reads();
        await servers.standby.resumeReplay();
        return { current: after.current - before.current, behind: after.behind - before.behind };
      };
      // replay paused: the replica still has it queued, older than the announced version
      expect(await follow(true)).toEqual({ current: 0, behind: 1 });
      // replay running and caught up before the wake-up: the replica's copy is the announced version
      expect(await follow(false)).toEqual({ current: 1, behind: 0 });
    } finally {
      socket.ws.close();
      redis.disconnect();
      worker = await ctx.startWorker();
    }
  });

  it("exports the replica's lag: replay paused, WAL written on the primary and not replayed, then caught up", async () => {
    await servers.standby.pauseReplay();
    await take(source, { prefer: 'wait=10' });
    await waitUntil('the lag metrics to show a paused replica behind', async () => {
      const samples = await metrics();
      return (
        valueOf(samples, 'idemq_replica_replay_paused') === 1 &&
        valueOf(samples, 'idemq_replica_lag_bytes') > 0 &&
        valueOf(samples, 'idemq_replica_lag_seconds') > 0
      );
    });
    await servers.standby.resumeReplay();
    await waitUntil('the lag metrics to show the replica caught up', async () => {
      const samples = await metrics();
      return valueOf(samples, 'idemq_replica_replay_paused') === 0 && valueOf(samples, 'idemq_replica_lag_seconds') === 0;
    });
  });

  it('with the replica stopped, answers every read from the primary, reports readiness degraded, and uses the replica again once it is back', async () => {
    const done = await take(source, { prefer: 'wait=10' });
    const id: string = done.json().id;
    await servers.standby.stop('fast');
    try {
      const before = await reads();
      for (let i = 0; i < 3; i++) expect((await get(id)).json()).toEqual(done.json());
      const fresh = await take(source);
      expect(fresh.statusCode).toBe(202);
      expect((await get(fresh.json().id, '?wait=10')).json().status).toBe('succeeded');
      const after = await reads();
      expect(after.failed - before.failed).toBe(1);
      expect(after.down - before.down).toBeGreaterThanOrEqual(2);
      expect(after.replica - before.replica).toBe(0);

      const ready = await api.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ status: 'degraded', checks: { postgres: 'ok', replica: 'unavailable' } });
    } finally {
      await servers.standby.start();
    }
    await servers.standby.caughtUp(servers.primaryServer);
    const before = (await reads()).replica;
    await waitUntil(
      'a read answered by the replica again',
      async () => (await get(id)).statusCode === 200 && (await reads()).replica > before,
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect((await api.inject({ url: '/readyz' })).json()).toMatchObject({ status: 'ready', checks: { replica: 'ok' } });
  }, 40_000);

  it('with the replica hanging, answers a read from the primary after 1 s, and the next ones at once', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: servers.standby.port });
    const hung = await createTestContext(({ url }) => ({
      DATABASE_READ_URL: viaProxy(servers.standby.urlOf(new URL(url).pathname.slice(1)), proxy),
    }));
    try {
      const hungApi = await hung.startApi();
      const hungAdmin = await hung.startAdmin(hungApi);
      await hung.startWorker();
      const done = await submit(hungApi, '/v1/items', { name: 'item', quantity: 1 }, { headers: { prefer: 'wait=10' } });
      expect(done.json().status).toBe('succeeded');
      await servers.standby.caughtUp(servers.primaryServer);
      const read = async () => {
        const started = Date.now();
        const res = await hungApi.inject({ url: `/v1/requests/${done.json().id}`, headers: auth() });
        expect(res.json()).toEqual(done.json());
        return Date.now() - started;
      };
      // a scrape while the replica hangs waits 2 s for its lag: one at the end
      const scrape = async () => parseSamples((await hungAdmin.inject({ url: '/metrics', headers: adminAuth })).body);
      const reads = (samples: Sample[], source: string, reason: string) => valueOf(samples, 'idemq_status_reads_total', { source, reason });
      // the POST's own wait may have read the outcome on the replica already
      const onReplica = reads(await scrape(), 'replica', 'terminal');
      await read();

      proxy.freeze();
      expect(await read()).toBeGreaterThanOrEqual(900);
      expect(await read()).toBeLessThan(500);
      const samples = await scrape();
      expect(reads(samples, 'replica', 'terminal')).toBe(onReplica + 1);
      expect(reads(samples, 'primary', 'failed')).toBe(1);
      expect(reads(samples, 'primary', 'down')).toBe(1);
      const ready = await hungApi.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ status: 'degraded', checks: { postgres: 'ok', replica: 'unavailable' } });
    } finally {
      // the frozen connections' queries end with them, so that the pool closes at once
      proxy.cut();
      await hung.close();
      await proxy.close();
    }
  });

  it('reads a finished request whose retention is about to end on the primary, where expiry may already have deleted it', async () => {
    const short = await createTestContext({ IDEMPOTENCY_TTL_SECONDS: '30' });
    try {
      const shortApi = await short.startApi();
      const shortAdmin = await short.startAdmin(shortApi);
      await short.startWorker();
      const done = await submit(shortApi, '/v1/items', { name: 'item', quantity: 1 }, { headers: { prefer: 'wait=10' } });
      expect(done.json().status).toBe('succeeded');
      await servers.standby.caughtUp(servers.primaryServer);
      expect((await shortApi.inject({ url: `/v1/requests/${done.json().id}`, headers: auth() })).json()).toEqual(done.json());
      const samples = parseSamples((await shortAdmin.inject({ url: '/metrics', headers: adminAuth })).body);
      expect(valueOf(samples, 'idemq_status_reads_total', { source: 'primary', reason: 'expiring' })).toBeGreaterThanOrEqual(1);
      expect(valueOf(samples, 'idemq_status_reads_total', { source: 'replica', reason: 'terminal' })).toBe(0);
    } finally {
      await short.close();
    }
  });

  it('measures the share of status reads the replica answers when clients poll, or follow over WebSocket, until terminal, then read again', async () => {
    const clients = 40;
    const replays = 3;
    const share = async (what: string, awaitTerminal: (id: string) => Promise<RequestStatus[]>) => {
      const before = await reads();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          const id: string = (await take(source)).json().id;
          const seen = await awaitTerminal(id);
          for (let i = 0; i < replays; i++) {
            await new Promise((r) => setTimeout(r, 200));
            seen.push((await get(id)).json().status);
          }
          expectNeverBackInTime(seen);
          expect(seen.at(-1)).toBe('succeeded');
        }),
      );
      const after = await reads();
      const delta = (k: keyof typeof after) => after[k] - before[k];
      const replica = delta('replica') + delta('current');
      const all = (Object.keys(after) as (keyof typeof after)[]).reduce((sum, k) => sum + delta(k), 0);
      console.log(
        `${clients} clients ${what}, then ${replays} GETs 200 ms apart: ${replica} of ${all} status reads on the replica (${((100 * replica) / all).toFixed(0)}%)`,
      );
      expect(replica).toBeGreaterThan(0);
    };
    await share('polling GET every 100 ms until terminal', async (id) => {
      const seen: RequestStatus[] = [];
      for (;;) {
        seen.push((await get(id)).json().status);
        if (seen.at(-1) === 'succeeded' || seen.at(-1) === 'failed') return seen;
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    const socket = await openSocket(`${base.replace('http', 'ws')}/v1/ws`, auth());
    try {
      await share('following over one WebSocket until terminal', async (id) => {
        socket.send({ type: 'subscribe', requestId: id });
        await socket.next((m) => m.requestId === id && (m.status === 'succeeded' || m.status === 'failed'), 10_000);
        return socket.messages.filter((m) => m.type === 'status' && m.requestId === id).map((m) => m.status);
      });
    } finally {
      socket.ws.close();
    }
  });
});
