import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';
import { startNginx, type PrivateNginx } from '../helpers/nginx.ts';
import { expectProblem } from '../helpers/problem.ts';
import { openSocket } from '../helpers/ws-client.ts';

const ADDRESS_LIMIT = 3;

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  json(): any;
}

describe('nginx (deploy/nginx/idemq.conf) in front of two API instances', () => {
  let ctx: TestContext;
  let nginx: PrivateNginx;
  const apis: FastifyInstance[] = [];
  const postsServed: [number, number] = [0, 0];
  let worker: Promise<unknown> | undefined;
  /** The first tests need requests to stay unfinished; the ones after them need a worker. */
  const workerRunning = () => (worker ??= ctx.startWorker());

  beforeAll(async () => {
    ctx = await createTestContext({ TRUSTED_PROXIES: '127.0.0.1/32', RATE_LIMIT_PER_ADDRESS_PER_MINUTE: String(ADDRESS_LIMIT) });
    for (const i of [0, 1] as const) {
      const api = await ctx.startApi();
      api.addHook('onResponse', async (request) => {
        if (request.method === 'POST') postsServed[i]++;
      });
      await api.listen({ port: 0, host: '127.0.0.1' });
      apis.push(api);
    }
    nginx = await startNginx(apis.map((api) => `127.0.0.1:${(api.server.address() as { port: number }).port}`));
  });
  afterAll(async () => {
    await nginx?.stop();
    await ctx?.close();
  });

  /** One HTTP call through nginx; `from` is the loopback address the client connects from. */
  function call(
    path: string,
    opts: { method?: string; headers?: Record<string, string>; body?: string; from?: string } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: nginx.port,
          path,
          method: opts.method ?? 'GET',
          headers: opts.headers,
          localAddress: opts.from,
          agent: false,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    call(path, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...headers },
      body: JSON.stringify(body),
    });

  it('streams Server-Sent Events unbuffered: the queued event arrives while the request is unfinished', async () => {
    const submitted = await post('/v1/items', { name: 'item', quantity: 5 });
    expect(submitted.status, submitted.body).toBe(202);
    const { id } = submitted.json();

    const events: any[] = [];
    let ended = false;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: nginx.port, path: `/v1/requests/${id}/events`, headers: auth(), agent: false }, resolve)
        .on('error', reject)
        .end();
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      const blocks = text.split('\n\n');
      text = blocks.pop() ?? '';
      for (const block of blocks) {
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data) events.push(JSON.parse(data.slice(6)));
      }
    });
    res.on('end', () => (ended = true));

    // no worker runs yet: a buffering proxy would hold this event until the stream ended
    await waitFor('the queued event', () => events.length > 0);
    expect(events[0]).toMatchObject({ id, status: 'queued' });
    expect(ended).toBe(false);

    const worker = await ctx.startWorker();
    try {
      await waitFor('the succeeded event and the end of the stream', () => ended, 15_000);
      expect(events.at(-1)).toMatchObject({ id, status: 'succeeded', result: { quantity: 5 } });
    } finally {
      await worker.close();
    }
  }, 30_000);

  it('holds a long-poll past 30 s and answers when the request completes late (no 504 at nginx)', async () => {
    const submitted = await post('/v1/items', { name: 'item', quantity: 7 });
    const { id } = submitted.json();
    const started = Date.now();
    const poll = call(`/v1/requests/${id}?wait=60`, { headers: auth() });
    // past the API's 30 s idle timeout and any 30 s proxy default before the outcome exists
    await sleep(31_000);
    await workerRunning();
    const answer = await poll;
    expect(answer.status, answer.body).toBe(200);
    expect(answer.json()).toMatchObject({ id, status: 'succeeded', result: { quantity: 7 } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(31_000);
  }, 70_000);

  it('answers Prefer: wait with the outcome (200, Preference-Applied)', async () => {
    await workerRunning();
    const answer = await post('/v1/items', { name: 'item', quantity: 9 }, { prefer: 'wait=10' });
    expect(answer.status, answer.body).toBe(200);
    expect(answer.headers['preference-applied']).toBe('wait=10');
    expect(answer.json()).toMatchObject({ status: 'succeeded', result: { quantity: 9 } });
  });

  it('pushes over a WebSocket upgraded through nginx the outcome of a request posted through it', async () => {
    await workerRunning();
    const socket = await openSocket(`ws://127.0.0.1:${nginx.port}/v1/ws`, auth());
    try {
      const { id } = (await post('/v1/items', { name: 'item', quantity: 11 })).json();
      socket.send({ type: 'subscribe', requestId: id });
      const done = await socket.next((m) => m.requestId === id && m.status === 'succeeded', 15_000);
      expect(done.result.quantity).toBe(11);
    } finally {
      socket.ws.terminate();
    }
  });

  it('one key POSTed 100 times at once, spread over both instances: one request, one effect', async () => {
    await workerRunning();
    const key = randomUUID();
    const name = `concurrent-${key}`;
    const before: [number, number] = [...postsServed];
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => post('/v1/items', { quantity: 13, name }, { 'idempotency-key': key })),
    );
    // every answer names the one request; one recorded it, the 99 others are replays
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(202));
    const ids = new Set(answers.map((a) => a.json().id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    expect(postsServed[0] - before[0]).toBeGreaterThan(0);
    expect(postsServed[1] - before[1]).toBeGreaterThan(0);

    const [id] = ids;
    const done = await call(`/v1/requests/${id}?wait=15`, { headers: auth() });
    expect(done.json()).toMatchObject({ status: 'succeeded' });
    const requests = await ctx.db
      .selectFrom('idemq.requests' as any)
      .select('id')
      .where('idempotency_key' as any, '=', key)
      .execute();
    expect(requests).toHaveLength(1);
    const items = await ctx.db
      .selectFrom('fixture.items' as any)
      .selectAll()
      .where('name' as any, '=', name)
      .execute();
    expect(items).toHaveLength(1);
  }, 60_000);

  it('the address budget counts the client nginx saw; an X-Forwarded-For of its own buys nothing', async () => {
    // two clients on loopback addresses of their own; nginx reaches the APIs from 127.0.0.1, the trusted proxy
    const ready = (from: string, forwardedFor?: string) =>
      call('/readyz', { from, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });
    const statuses = [];
    for (let i = 0; i < ADDRESS_LIMIT + 1; i++) statuses.push((await ready('127.0.0.2', `203.0.113.${i + 1}`)).status);
    expect(statuses).toEqual([...Array(ADDRESS_LIMIT).fill(200), 429]);
    const refused = await ready('127.0.0.2', '198.51.100.9, 127.0.0.3');
    expectProblem(injected(refused), 429, 'rate-limited');
    // another client still has its whole budget: the API tells clients apart, not nginx's one address
    expect((await ready('127.0.0.3')).status).toBe(200);
  });

  it("passes a 1 MiB body and refuses a 2 MiB one with the API's 413 problem", async () => {
    // a JSON body of exactly 1 MiB reaches the API, which reads it whole and refuses its unknown field
    const pad = 'x'.repeat(1024 * 1024 - JSON.stringify({ name: 'item', quantity: 1, pad: '' }).length);
    const oneMiB = JSON.stringify({ name: 'item', quantity: 1, pad });
    expect(Buffer.byteLength(oneMiB)).toBe(1024 * 1024);
    const headers = { ...auth(), 'content-type': 'application/json', 'idempotency-key': randomUUID() };
    const passed = await call('/v1/items', { method: 'POST', headers, body: oneMiB });
    expectProblem(injected(passed), 400, 'invalid-request');
    const servedBefore = postsServed[0] + postsServed[1];

    const twoMiB = JSON.stringify({ name: 'item', quantity: 1, pad: 'x'.repeat(2 * 1024 * 1024) });
    const refused = await call('/v1/items', { method: 'POST', headers: { ...headers, 'idempotency-key': randomUUID() }, body: twoMiB });
    expectProblem(injected(refused), 413, 'body-too-large');
    // a POST without a key takes another location (not retried): the same answer there
    const { 'idempotency-key': _key, ...unkeyed } = headers;
    expectProblem(injected(await call('/v1/items', { method: 'POST', headers: unkeyed, body: twoMiB })), 413, 'body-too-large');
    // refused at the edge: no instance read a byte of it
    expect(postsServed[0] + postsServed[1]).toBe(servedBefore);
  });
});

describe('nginx retries a POST on the next instance when one fails mid-request', () => {
  let ctx: TestContext;
  let nginx: PrivateNginx;
  let crasher: Server;
  let crashed = 0;

  beforeAll(async () => {
    ctx = await createTestContext();
    const api = await ctx.startApi();
    await api.listen({ port: 0, host: '127.0.0.1' });
    await ctx.startWorker();
    // an instance that takes the request and dies before answering
    crasher = createServer((socket) => socket.once('data', () => (crashed++, socket.destroy())));
    await new Promise<void>((resolve) => crasher.listen(0, '127.0.0.1', resolve));
    const port = (s: { address(): unknown }) => (s.address() as { port: number }).port;
    nginx = await startNginx([`127.0.0.1:${port(crasher)}`, `127.0.0.1:${port(api.server)}`]);
  });
  afterAll(async () => {
    await nginx?.stop();
    crasher?.close();
    await ctx?.close();
  });

  it('answers every POST from the live instance, each recorded once (the key makes the retry safe)', async () => {
    const keys = Array.from({ length: 6 }, () => randomUUID());
    const answers = [];
    for (const key of keys) {
      answers.push(
        await new Promise<number>((resolve, reject) => {
          httpRequest(
            {
              host: '127.0.0.1',
              port: nginx.port,
              path: '/v1/items',
              method: 'POST',
              agent: false,
              headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': key, prefer: 'wait=10' },
            },
            (res) => (res.resume(), resolve(res.statusCode ?? 0)),
          )
            .on('error', reject)
            .end(JSON.stringify({ name: 'item', quantity: 3 }));
        }),
      );
    }
    expect(crashed).toBeGreaterThan(0);
    expect(answers).toEqual(Array(keys.length).fill(200));
    const rows = await ctx.db
      .selectFrom('idemq.requests' as any)
      .select('idempotency_key')
      .where('idempotency_key' as any, 'in', keys)
      .execute();
    expect(rows).toHaveLength(keys.length);
  });

  it("does not retry a POST without an Idempotency-Key: the client gets the failed instance's 502", async () => {
    // round robin: within a few POSTs (more than fail_timeout apart) one goes to the crashing instance
    const statuses: number[] = [];
    for (let i = 0; i < 6 && !statuses.includes(502); i++) {
      const before = crashed;
      const status = await new Promise<number>((resolve, reject) => {
        httpRequest(
          {
            host: '127.0.0.1',
            port: nginx.port,
            path: '/v1/items',
            method: 'POST',
            agent: false,
            headers: { ...auth(), 'content-type': 'application/json' },
          },
          (res) => (res.resume(), resolve(res.statusCode ?? 0)),
        )
          .on('error', reject)
          .end(JSON.stringify({ name: 'item', quantity: 3 }));
      });
      // each reached one instance only: the crashing one (502), or the live one, which refuses it
      expect({ status, crashes: crashed - before }).toEqual(status === 502 ? { status, crashes: 1 } : { status: 400, crashes: 0 });
      statuses.push(status);
      await sleep(1_100);
    }
    expect(statuses).toContain(502);
  }, 20_000);
});

const injected = (a: Answer) => ({ statusCode: a.status, headers: a.headers, body: a.body, json: () => a.json() });

async function waitFor(what: string, done: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
