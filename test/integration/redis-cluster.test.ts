import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/bucket-of.ts';
import { STATUS_BUCKETS, statusBucketChannel } from '../../src/outbox/status-channels.ts';
import { MAX_QUEUE_SHARDS, shardQueueNames } from '../../src/queue/queue-shards.ts';
import { adminAuth, auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { awaitTerminal, submit } from '../helpers/submit.ts';
import { parseSamples } from '../helpers/prometheus-text.ts';
import { routeThroughRedisCluster } from '../helpers/redis-target.ts';
import { spyOnStatusEvents } from '../helpers/status-spy.ts';

// The contract, delivery and worker paths, each file's own tests, run again on a private Redis
// Cluster (3 masters, a replica each) with the request queue in 3 shards and sharded pub/sub.
const cluster = await routeThroughRedisCluster({ queueShards: 3 });

await import('./submit-idempotency.test.ts');
await import('./concurrency.test.ts');
await import('./queue-contract.test.ts');
await import('./process-batch.test.ts');
await import('./job-processor.test.ts');
await import('./completion-delivery.test.ts');
await import('./outbox-relay.test.ts');
await import('./reconciler.test.ts');
await import('./expiry.test.ts');
await import('./replay-cache-coherence.test.ts');

describe('the layout on a Redis Cluster', () => {
  it('puts every key of one queue shard in one slot, and each shard in a slot of its own', async () => {
    const names = shardQueueNames(MAX_QUEUE_SHARDS, true);
    const slots: number[] = [];
    for (const name of names) {
      const keys = ['wait', 'active', 'id', 'meta', 'events', 'delayed', 'completed', 'stalled-check'].map((k) => `idemq:${name}:${k}`);
      const own = new Set(await Promise.all(keys.map((key) => cluster.slotOf(key))));
      expect(own.size, name).toBe(1);
      slots.push([...own][0]!);
    }
    expect(new Set(slots).size).toBe(MAX_QUEUE_SHARDS);
    // the default 3 shards lie on 3 different masters of this cluster
    const masters = await Promise.all(slots.slice(0, 3).map((slot) => cluster.masterOf(slot)));
    expect(new Set(masters).size).toBeGreaterThan(1);
  });

  it('spreads the status channels over every master', async () => {
    const masters = new Set<number>();
    for (let bucket = 0; bucket < STATUS_BUCKETS; bucket++)
      masters.add(await cluster.masterOf(await cluster.slotOf(statusBucketChannel('idemq', bucket))));
    expect(masters).toEqual(new Set(await cluster.masters()));
  });
});

const metricOf = async (admin: FastifyInstance, name: string) =>
  parseSamples((await admin.inject({ method: 'GET', url: '/metrics', headers: adminAuth })).body).find((s) => s.name === name)?.value;

describe('sharded pub/sub on a Redis Cluster', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('delivers to an instance that watches one request only the events of its bucket, far fewer than the cluster published', async () => {
    const watcher = await ctx.startApi();
    const admin = await ctx.startAdmin(watcher);
    const busy = await ctx.startApi();
    let published = 0;
    const spy = await spyOnStatusEvents(ctx.config, (events) => (published += events.length));
    try {
      const watched = (await submit(watcher, '/v1/items', { name: 'item', quantity: 1 })).json().id;
      // held until the request ends, through the load below: the watcher is woken by its bucket's channel
      const waiting = watcher.inject({ method: 'GET', url: `/v1/requests/${watched}?wait=30`, headers: auth() });
      await expect.poll(() => metricOf(admin, 'idemq_status_watched_requests')).toBe(1);
      // the watcher's SSUBSCRIBE to the watched bucket holds (the spy is the other subscriber):
      // before that, its events would reach it only by the followers' fallback reread
      const channel = statusBucketChannel(ctx.config.queuePrefix, bucketOf(watched, STATUS_BUCKETS));
      const node = new Redis({ host: '127.0.0.1', port: await cluster.masterOf(await cluster.slotOf(channel)), lazyConnect: true });
      try {
        await expect
          .poll(async () => Number(((await node.call('pubsub', 'shardnumsub', channel)) as [string, number])[1]), { timeout: 15_000 })
          .toBeGreaterThanOrEqual(2);
      } finally {
        node.disconnect();
      }
      await ctx.startWorker();
      const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => submit(busy, '/v1/items', { name: 'item', quantity: i })));
      await Promise.all(answers.map((r) => awaitTerminal(busy, r.json().id)));
      expect((await waiting).json().status).toBe('succeeded');
      await expect.poll(() => published, { timeout: 10_000 }).toBeGreaterThanOrEqual(600);
      const received = await metricOf(admin, 'idemq_status_events_total');
      console.log(`sharded pub/sub: the cluster published ${published} events; the instance watching one request received ${received}`);
      expect(received).toBeGreaterThan(0);
      // 64 buckets, one watched: about 1/64 of the events, a few buckets' worth at most
      expect(received).toBeLessThan(published / 10);
    } finally {
      spy.close();
    }
  });
});
