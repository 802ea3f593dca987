import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { statusChannelOf } from '../../src/outbox/status-channels.ts';
import { createStatusPublisher } from '../../src/outbox/status-publisher.ts';
import { shardQueueNames } from '../../src/queue/queue-shards.ts';
import { createRedis } from '../../src/redis.ts';
import { openStatusFeed } from '../../src/status/open-status-feed.ts';
import { adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';
import { fixtureDb, insertItem } from '../helpers/items.ts';
import { submit } from '../helpers/submit.ts';
import { parseSamples } from '../helpers/prometheus-text.ts';
import { routeThroughRedisCluster } from '../helpers/redis-target.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const cluster = await routeThroughRedisCluster({ queueShards: 3 });

const REQUESTS = 1_000;
const SOURCES = 20;
const STOCK = 1_000_000;
const IN_FLIGHT = 40;

/**
 * A master of the cluster SIGKILLed under load. Its replica is promoted; Redis may have lost what
 * the master acknowledged but had not replicated, and the APIs' enqueues to its slots fail until
 * the promotion. Postgres holds every accepted request: the reconciler re-adds the lost jobs.
 * The workers fall behind the load as they would under a burst: the two of them start at the
 * kill, with a backlog in Redis. They run with a reconciler that waits 10 minutes, so the requests
 * that only the reconciler can save are counted first; a third worker then reconciles at once.
 */
describe('a Redis Cluster master killed under load', () => {
  let ctx: TestContext;
  let apis: FastifyInstance[];
  let sources: string[];
  beforeAll(async () => {
    ctx = await createTestContext({ RECONCILE_AFTER_MS: '600000' });
    apis = [await ctx.startApi(), await ctx.startApi()];
    sources = [];
    for (let i = 0; i < SOURCES; i++) sources.push(await insertItem(ctx, STOCK));
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const unfinished = async (ids: readonly string[]) =>
    (
      await ctx.db
        .selectFrom('idemq.requests')
        .select('id')
        .where('id', 'in', ids)
        .where('status', 'in', ['queued', 'processing'])
        .execute()
    ).map((r) => r.id);

  it('ends every accepted request, runs none twice, and conserves the quantity; the reconciler re-adds what Redis lost', async () => {
    // the master of the most queue shards: the slots that take the writes
    const shardSlots = await Promise.all(shardQueueNames(3, true).map((name) => cluster.slotOf(name)));
    const owners = await Promise.all(shardSlots.map((slot) => cluster.masterOf(slot)));
    const victim = [...new Set(owners)].sort((a, b) => owners.filter((o) => o === b).length - owners.filter((o) => o === a).length)[0]!;

    const accepted: string[] = [];
    let refused = 0;
    let sent = 0;
    let failover: Promise<{ promoted: number; promotionMs: number }> | undefined;
    let killedAt = 0;
    let workers: Promise<unknown> | undefined;
    const send = async () => {
      while (sent < REQUESTS) {
        const i = sent++;
        if (i === Math.floor(REQUESTS / 3)) {
          // its replica falls behind for half a second first: the writes of that half second are lost
          failover = cluster.killMaster(victim, {
            replicaLagMs: 500,
            onKilled: () => {
              killedAt = Date.now();
              workers = Promise.all([ctx.startWorker(), ctx.startWorker()]);
            },
          });
        }
        const source = sources[i % SOURCES]!;
        const res = await submit(apis[i % 2]!, '/v1/items', { name: 'item', quantity: 1 + (i % 97), takeFrom: source });
        if (res.statusCode === 202) accepted.push(res.json().id);
        else refused++;
      }
    };
    const loadStarted = Date.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, send));
    const loadMs = Date.now() - loadStarted;
    const { promoted, promotionMs } = await failover!;
    await workers;
    expect(promoted).not.toBe(victim);

    // what the two workers (reconciling only after 10 minutes) finish on their own
    let before = -1;
    let left = await unfinished(accepted);
    while (left.length !== before && left.length > 0) {
      before = left.length;
      await new Promise((r) => setTimeout(r, 3_000));
      left = await unfinished(accepted);
    }
    const stuck = left.length;

    const metricsPort = await freePort();
    await ctx.startWorker({ RECONCILE_AFTER_MS: '1000', WORKER_METRICS_PORT: String(metricsPort) });
    await waitUntil('every accepted request to end', async () => (await unfinished(accepted)).length === 0, { timeoutMs: 60_000 });
    const allTerminalMs = Date.now() - killedAt;
    const scrape = parseSamples(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: adminAuth })).text());
    const readded = scrape.find((s) => s.name === 'idemq_worker_reconciler_readded_total')?.value ?? 0;

    const lost = (await unfinished(accepted)).length;
    const made = await fixtureDb(ctx)
      .selectFrom('fixture.items')
      .select(['request_id', sql<number>`count(*)::int`.as('n')])
      .where('request_id', 'is not', null)
      .groupBy('request_id')
      .execute();
    const doubled = made.filter((m) => m.n > 1).length;
    const succeeded = await ctx.db
      .selectFrom('idemq.requests')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('id', 'in', accepted)
      .where('status', '=', 'succeeded')
      .executeTakeFirstOrThrow();
    const [{ total }] = (await fixtureDb(ctx)
      .selectFrom('fixture.items')
      .select(sql<string>`sum(quantity)::text`.as('total'))
      .execute()) as [{ total: string }];
    console.log(
      `failover: load ${loadMs} ms; promotion ${promotionMs} ms; every request terminal ${allTerminalMs} ms after the kill; accepted ${accepted.length}, refused ${refused}; ` +
        `left unfinished without the reconciler ${stuck}, re-added by the reconciler ${readded}; lost ${lost}; doubled ${doubled}`,
    );
    expect(accepted.length + refused).toBe(REQUESTS);
    expect(accepted.length).toBeGreaterThan(REQUESTS * 0.9);
    expect(lost).toBe(0);
    expect(doubled).toBe(0);
    expect(made.length).toBe(succeeded.n);
    expect(BigInt(total)).toBe(BigInt(STOCK * SOURCES));
    // the kill lost jobs (or enqueues failed) that only Postgres remembered: the reconciler saved them
    expect(stuck).toBeGreaterThan(0);
    expect(readded).toBeGreaterThanOrEqual(stuck);

    // the killed node comes back as a replica of the promoted one
    await cluster.restart(victim);
    expect(await cluster.masters()).not.toContain(victim);
  });

  it("wakes a watcher once its channel's master failed over, and delivers from the promoted one", async () => {
    const id = crypto.randomUUID();
    const victim = await cluster.masterOf(await cluster.slotOf(statusChannelOf(ctx.config.queuePrefix, id)));
    const feed = openStatusFeed(ctx.config, () => () => undefined);
    const publisher = createRedis(ctx.config, 'publisher', () => undefined);
    const publish = createStatusPublisher(publisher, ctx.config.queuePrefix);
    let wakes = 0;
    try {
      feed.watch(id, () => wakes++);
      // woken once subscribed
      await waitUntil('the subscription', async () => wakes > 0);
      const subscribed = wakes;
      const { promotionMs } = await cluster.killMaster(victim);
      await waitUntil('the wake-up after the failover', async () => wakes > subscribed, { timeoutMs: 15_000 });
      // the burst of slot map refreshes around a failover is coalesced: a few wake-ups, not one per refresh
      await new Promise((r) => setTimeout(r, 3_000));
      const afterFailover = wakes;
      console.log(`status feed: woken ${afterFailover - subscribed} time(s) in the 3 s after a promotion of ${promotionMs} ms`);
      expect(afterFailover - subscribed).toBeLessThanOrEqual(5);
      await publish([{ requestId: id, tenantId: 'acme', status: 'succeeded', version: 3 }]);
      await waitUntil('the event published on the promoted master', async () => wakes > afterFailover);
    } finally {
      await feed.close();
      publisher.disconnect();
    }
  });
});
