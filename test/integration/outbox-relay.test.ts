import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../../src/redis.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusEvent } from '../../src/db/database.ts';
import { RELAY_MESSAGE_EVENTS, relayOutboxBatch } from '../../src/outbox/outbox.repository.ts';
import { createStatusPublisher } from '../../src/outbox/status-publisher.ts';
import { relayOnce } from '../../workers/outbox-relay.ts';
import { processRequest } from '../../workers/process-request.ts';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { connectTestRedis } from '../helpers/redis-target.ts';
import { spyOnStatusEvents } from '../helpers/status-spy.ts';
import { outboxEventsOf } from '../helpers/outbox.ts';
import { openSocket } from '../helpers/ws-client.ts';

describe('outbox relay', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let redis: RedisClient;
  let spy: { close(): void };
  const heard: StatusEvent[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    redis = connectTestRedis(ctx.config);
    spy = await spyOnStatusEvents(ctx.config, (events) => heard.push(...events));
  });
  afterAll(async () => {
    redis.disconnect();
    spy.close();
    await ctx.close();
  });

  it('writes an outbox row in the transaction of every observable change', async () => {
    const { id } = (await submit(app, '/v1/items', { name: 'item', quantity: 5 })).json();
    await processRequest(ctx.db, id, ctx.find);
    expect((await outboxEventsOf(ctx.db, id)).map((e) => e.status)).toEqual(['processing', 'succeeded']);
    await relayOnce(ctx.db, createStatusPublisher(redis, ctx.config.queuePrefix));
  });

  it('publishes again after dying between publish and mark, and clients see each state once', async () => {
    const { id } = (await submit(app, '/v1/items', { name: 'item', quantity: 7 })).json();
    const socket = await openSocket(`ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/ws`, auth());
    socket.send({ type: 'subscribe', requestId: id });
    await socket.next((m) => m.status === 'queued');
    await processRequest(ctx.db, id, ctx.find);

    const publish = createStatusPublisher(redis, ctx.config.queuePrefix);
    const crash = new Error('relay died after publishing');
    await expect(
      relayOutboxBatch(ctx.db, 100, async (events) => {
        await publish(events);
        throw crash;
      }),
    ).rejects.toBe(crash);
    expect(await outboxEventsOf(ctx.db, id)).toHaveLength(2);

    const { published } = await relayOnce(ctx.db, publish);
    expect(published).toBe(2);
    expect(await ctx.db.selectFrom('idemq.outbox').select('id').execute()).toHaveLength(0);

    await socket.next((m) => m.status === 'succeeded');
    await expect.poll(() => heard.filter((e) => e.requestId === id && e.status === 'succeeded').length).toBe(2);
    await new Promise((r) => setTimeout(r, 100));
    const versions = socket.messages.filter((m) => m.type === 'status').map((m) => m.version);
    expect(versions).toEqual([...new Set(versions)]);
    socket.ws.close();
  });

  it('lets two relays share the outbox without publishing a row twice', async () => {
    for (let i = 0; i < 30; i++) await submit(app, '/v1/items', { name: 'item', quantity: i });
    const ids = (await ctx.db.selectFrom('idemq.requests').select('id').where('status', '=', 'queued').execute()).map((r) => r.id);
    await Promise.all(ids.map((id) => processRequest(ctx.db, id, ctx.find)));
    const counts = new Map<string, number>();
    const counting = async (events: StatusEvent[]) => {
      for (const e of events) counts.set(`${e.requestId}/${e.version}`, (counts.get(`${e.requestId}/${e.version}`) ?? 0) + 1);
    };
    const drain = async () => {
      while ((await relayOutboxBatch(ctx.db, 7, counting)) > 0);
    };
    await Promise.all([drain(), drain()]);
    expect(counts.size).toBe(ids.length * 2);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('publishes a backlog of batch rows in messages of bounded size, every event once', async () => {
    const event = (i: number): StatusEvent => ({
      requestId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      tenantId: 't',
      status: 'succeeded',
      version: 2,
    });
    // 40 rows of 128 events each, as 40 full batches would write them
    const rows = Array.from({ length: 40 }, (_, r) => ({
      request_id: null,
      payload: JSON.stringify(Array.from({ length: 128 }, (_, i) => event(r * 128 + i))),
    }));
    await ctx.db.insertInto('idemq.outbox').values(rows).execute();
    const messages: StatusEvent[][] = [];
    const published = await relayOutboxBatch(ctx.db, 500, async (events) => void messages.push(events));
    expect(published).toBe(40 * 128);
    expect(Math.max(...messages.map((m) => m.length))).toBeLessThanOrEqual(RELAY_MESSAGE_EVENTS);
    expect(new Set(messages.flat().map((e) => e.requestId)).size).toBe(40 * 128);
  });
});
