import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jobIdFor } from '../../src/queue/request-queue.ts';
import { createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { writeRoutesFile } from '../helpers/forward-routes.ts';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { inspectQueue } from '../helpers/queue.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { startUpstreamServer } from '../helpers/upstream-server.ts';
import { waitUntil } from '../helpers/wait-until.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';

const API_MAIN = fileURLToPath(new URL('../fixtures/app/api.ts', import.meta.url));

interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  events: string[];
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
const valueOf = (v: AnyValue) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
const attributesOf = (list: { key: string; value: AnyValue }[] = []) => Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/** Holds a request's work back (close) until the returned function lets it go, once `followed` says so. */
interface Gate {
  close(): Promise<() => Promise<void>>;
  /** whether the follower was woken for `processing` and has read it (the work may then go on) */
  followed(): boolean;
}

/** An OTLP/HTTP (JSON) trace receiver on loopback: what a collector would get. */
async function startCollector(): Promise<{ url: string; spans: ExportedSpan[]; posts: number; close(): Promise<void> }> {
  const state = { spans: [] as ExportedSpan[], posts: 0 };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      state.posts++;
      const doc = JSON.parse(body);
      for (const rs of doc.resourceSpans ?? []) {
        const service = String(attributesOf(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            state.spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              attributes: attributesOf(s.attributes),
              events: (s.events ?? []).map((e: { name: string }) => e.name),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get spans() {
      return state.spans;
    },
    get posts() {
      return state.posts;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The fixture app's API as a real process; resolves once it listens. */
async function startApiProcess(env: Record<string, string>, port: number): Promise<{ stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [API_MAIN], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`API process did not start:\n${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      // the admin server listens first, on a port of its own: wait for the API's
      if (output.includes(`Server listening at http://127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`API process exited before listening:\n${output}`)));
  });
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('tracing across the API, the queue and the worker', () => {
  let ctx: TestContext;
  let inspector: ReturnType<typeof inspectQueue>;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    inspector = inspectQueue(ctx.config.queuePrefix);
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });
  afterAll(async () => {
    await inspector?.close();
    await ctx?.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  /**
   * Runs the API and a worker as processes with `otel` set, makes one item (or POSTs `route`) per
   * entry of `headers` (sent with the POST), each awaiting its outcome, then stops both. Returns the ids.
   */
  async function submitThroughProcesses(
    otel: Record<string, string>,
    headers: Record<string, string>[] = [{}],
    route = '/v1/items',
    opts: { pushesTo?: { spans: ExportedSpan[] }; gate?: Gate } = {},
  ) {
    const port = await freePort();
    const env = {
      DATABASE_URL: ctx.config.databaseUrl,
      REDIS_URL: ctx.config.redisUrl,
      QUEUE_PREFIX: ctx.config.queuePrefix,
      API_KEYS: `${TENANTS.acme.id}:${TENANTS.acme.secret}`,
      PORT: String(port),
      ADMIN_PORT: '0',
      LOG_LEVEL: 'info',
      SHUTDOWN_DRAIN_MS: '0',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      ...otel,
    };
    const worker: WorkerProcess = await startWorkerProcess(ctx, env);
    stops.push(() => worker.stop());
    const api = await startApiProcess(env, port);
    stops.push(() => api.stop());
    const ids: string[] = [];
    for (const extra of headers) {
      // The POST's own wait is the follower whose push is traced. Had its read after the
      // `processing` wake-up already found the outcome, it would stop following before the terminal
      // event came, and nothing would be pushed: the gate holds the work until that wake-up is over.
      const held = opts.gate && opts.pushesTo ? await opts.gate.close() : undefined;
      if (held) {
        const gate = opts.gate!;
        // let go after at most 8 s all the same: the assertions below then say what went wrong
        void waitUntil('the follower woken for processing', async () => gate.followed(), { timeoutMs: 8_000, intervalMs: 50 })
          .catch(() => undefined)
          .finally(() => held());
      }
      const res = await fetch(`http://127.0.0.1:${port}${route}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TENANTS.acme.secret}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
          prefer: 'wait=10',
          ...extra,
        },
        body: JSON.stringify(route === '/v1/items' ? { name: 'item', quantity: 100 } : { sku: 'A-1' }),
      });
      const body = (await res.json()) as { id: string; status: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.status).toBe('succeeded');
      ids.push(body.id);
    }
    // The terminal event may reach the API after the POST was answered (the outcome can be read
    // before its event is published): stopping the API earlier would lose its push span.
    if (opts.pushesTo) {
      const { spans } = opts.pushesTo;
      const pushed = (id: string) => {
        const post = spans.find((s) => s.name.startsWith('POST ') && s.attributes['idemq.request_id'] === id);
        return (
          post !== undefined &&
          spans.some((s) => s.traceId === post.traceId && s.name === 'idemq.push' && s.attributes['idemq.status'] === 'succeeded')
        );
      };
      await waitUntil('the push spans of the API', async () => ids.every(pushed), { timeoutMs: 10_000, intervalMs: 100 });
    }
    // SIGTERM: each process exports what it still buffers before it exits
    await api.stop();
    expect(await worker.stop()).toBe(0);
    return ids;
  }

  it('one trace from the POST through the enqueue, the job and its commit to the push', async () => {
    const collector = await startCollector();
    stops.push(() => collector.close());
    // making an item inserts into fixture.items, which a SHARE lock holds back
    const gate: Gate = {
      async close() {
        const client = new pg.Client({ connectionString: ctx.config.databaseUrl, application_name: 'test-gate' });
        await client.connect();
        await client.query('begin');
        await client.query('lock table fixture.items in share mode');
        return async () => {
          await client.query('rollback').catch(() => undefined);
          await client.end().catch(() => undefined);
        };
      },
      // the API's push of `processing` is exported once handled, and the follower's read follows it at once
      followed: () => collector.spans.some((s) => s.name === 'idemq.push' && s.attributes['idemq.status'] === 'processing'),
    };
    const [id] = await submitThroughProcesses(
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
      [{}],
      '/v1/items',
      { pushesTo: collector, gate },
    );

    const spans = collector.spans;
    const one = (what: string, match: (s: ExportedSpan) => boolean) => {
      const found = spans.filter(match);
      expect(found, `${what} among ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`).toHaveLength(1);
      return found[0]!;
    };
    const post = one('the POST', (s) => s.name === 'POST /v1/items' && s.attributes['idemq.request_id'] === id);
    expect(post.service).toBe('idemq-api');
    expect(post.attributes['idemq.outcome']).toBe('created');
    const inTrace = spans.filter((s) => s.traceId === post.traceId);
    const accept = one('the accept', (s) => s.name === 'idemq.accept' && s.traceId === post.traceId);
    expect(accept.parentSpanId).toBe(post.spanId);
    const enqueue = one('the enqueue', (s) => s.name === 'idemq.enqueue' && s.traceId === post.traceId);
    expect(enqueue.parentSpanId).toBe(post.spanId);

    // the queue hop: BullMQ's own span in the worker, a child of the API's enqueue span
    const job = one('the job', (s) => s.name === 'process requests' && s.traceId === post.traceId);
    expect(job.service).toBe('idemq-worker');
    expect(job.parentSpanId).toBe(enqueue.spanId);
    const transaction = one('the transaction', (s) => s.name === 'idemq.transaction' && s.traceId === post.traceId);
    expect(transaction.service).toBe('idemq-worker');
    expect(transaction.parentSpanId).toBe(job.spanId);
    expect(transaction.attributes['idemq.result']).toBe('completed');
    expect(transaction.events).toContain('committed');

    // the push: the API handles the terminal event under the transaction's span
    const pushes = inTrace.filter((s) => s.name === 'idemq.push');
    const done = pushes.find((s) => s.attributes['idemq.status'] === 'succeeded');
    expect(done, `pushes: ${JSON.stringify(pushes)}`).toBeDefined();
    expect(done!.service).toBe('idemq-api');
    expect(done!.parentSpanId).toBe(transaction.spanId);
    // how many followers it woke: the POST's own wait may have read the outcome before the event came
    expect(typeof done!.attributes['idemq.followers']).toBe('number');
    // nothing of this request's trace dangles: every parent is a span of the trace
    const ids = new Set(inTrace.map((s) => s.spanId));
    for (const s of inTrace) if (s !== post) expect(ids.has(s.parentSpanId), `${s.name}'s parent`).toBe(true);
  });

  it("continues a client's traceparent (and its sampling decision), and starts a trace of its own for a malformed one", async () => {
    const collector = await startCollector();
    stops.push(() => collector.close());
    const clientTrace = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const [continued, malformed, unsampled] = await submitThroughProcesses(
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
      [
        { traceparent: `00-${clientTrace}-${clientSpan}-01` },
        { traceparent: `00-${'0'.repeat(32)}-zz-01, and more`, tracestate: 'x'.repeat(10_000) },
        // the client's sampling decision is followed: not sampled, nothing recorded for it
        { traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00` },
      ],
    );
    const postOf = (id: string) => collector.spans.find((s) => s.name === 'POST /v1/items' && s.attributes['idemq.request_id'] === id);
    expect(postOf(continued!)).toMatchObject({ traceId: clientTrace, parentSpanId: clientSpan });
    const own = postOf(malformed!);
    expect(own).toBeDefined();
    expect(own!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(own!.traceId).not.toBe('0'.repeat(32));
    expect(own!.parentSpanId).toBe('');
    expect(collector.spans.filter((s) => s.traceId === own!.traceId).map((s) => s.name)).toContain('idemq.transaction');
    expect(postOf(unsampled!)).toBeUndefined();
  });

  it('a forwarded request: the upstream call in the worker, and the push, in the same trace', async () => {
    const collector = await startCollector();
    const upstream = await startUpstreamServer();
    const routes = await writeRoutesFile([{ name: 'orders.create', route: '/v1/orders', upstream: `${upstream.url}/orders` }]);
    stops.push(
      () => collector.close(),
      () => upstream.close(),
      () => routes.remove(),
    );
    const otel = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, FORWARD_ROUTES_FILE: routes.path };
    // the upstream's answer waits for the gate
    const gate: Gate = {
      async close() {
        let open!: () => void;
        const opened = new Promise<void>((resolve) => (open = resolve));
        upstream.behave(() => ({ status: 201, after: opened }));
        return async () => open();
      },
      // the lease that starts the call publishes `processing`, untraced: give the follower's wake-up and read half a second
      followed: () => upstream.attempts.some((a) => Date.now() - a.at > 500),
    };
    const [id] = await submitThroughProcesses(otel, [{}], '/v1/orders', { pushesTo: collector, gate });
    const post = collector.spans.find((s) => s.name === 'POST /v1/orders' && s.attributes['idemq.request_id'] === id)!;
    expect(post).toBeDefined();
    const inTrace = collector.spans.filter((s) => s.traceId === post.traceId);
    const job = inTrace.find((s) => s.name === 'process requests')!;
    const call = inTrace.find((s) => s.name === 'idemq.upstream_call')!;
    expect(call).toMatchObject({ service: 'idemq-worker', parentSpanId: job.spanId });
    expect(call.attributes).toMatchObject({ 'idemq.operation': 'orders.create', 'idemq.attempt': 1, 'idemq.decision': 'succeeded' });
    const push = inTrace.find((s) => s.name === 'idemq.push' && s.attributes['idemq.status'] === 'succeeded');
    expect(push).toMatchObject({ service: 'idemq-api', parentSpanId: call.spanId });
  });

  it('off by default: with an OTLP endpoint set but no exporter named, nothing is sent and jobs carry no trace context', async () => {
    const collector = await startCollector();
    stops.push(() => collector.close());
    const [id] = await submitThroughProcesses({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
    expect(collector.posts).toBe(0);
    const job = await inspector.queue.getJob(jobIdFor(id!));
    expect(job).toBeDefined();
    expect(job!.opts.telemetry).toBeUndefined();
  });
});
