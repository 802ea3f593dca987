import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SocketConstructor } from '../../clients/typescript/src/index.ts';
import { CLOSE, WS_LIMITS } from '../../src/http/ws-session.ts';
import { recordingFetch } from '../helpers/client-fixtures.ts';
import { auth, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { submit } from '../helpers/submit.ts';
import { openSocket, type TestSocket } from '../helpers/ws-client.ts';

const FINISHED = 2_000;
const LIVE = 100;
/** follows started a second, kept to by the clock (a loaded machine's timers run late) */
const PER_SECOND = 600;

/** The platform's WebSocket, counting the status pushes and `rate_limited` errors the client receives. */
function countingWebSocket(counts: { pushes: Set<string>; rateLimited: number }): SocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      this.addEventListener('message', (event) => {
        const m = JSON.parse(String(event.data));
        if (m.type === 'status' && m.status === 'succeeded') counts.pushes.add(m.requestId);
        if (m.code === 'rate_limited') counts.rateLimited++;
      });
    }
  } as unknown as SocketConstructor;
}

/** Sends `make(i)` as fast as the socket takes it until it closes (or `max` were sent); resolves with how many were sent. */
async function flood(socket: TestSocket, make: (i: number) => string, max = 200_000): Promise<number> {
  let i = 0;
  while (i < max && socket.ws.readyState === socket.ws.OPEN) {
    for (let n = 0; n < 500 && i < max && socket.ws.readyState === socket.ws.OPEN; n++) socket.ws.send(make(i++));
    await new Promise((r) => setImmediate(r));
  }
  return i;
}

// The shipped WebSocket limits (WS_MESSAGES_PER_SECOND, WS_SUBSCRIBES_PER_MINUTE = the tenant's
// budget); the tenant's budget is raised so that what the test follows fits in it.
describe('WebSocket under hostile load: a tenant follows its requests over one socket while others flood', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let baseUrl: string;
  let url: string;
  let finished: string[];
  beforeAll(async () => {
    ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: '100000' });
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    url = `${baseUrl.replace(/^http/, 'ws')}/v1/ws`;
    // finished requests, as a busy tenant's are by the time it follows them: each subscribe is answered by its look-up
    const rows = await sql<{ id: string }>`
      insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, result, retention_seconds, expires_at)
      select ${TENANTS.acme.id}, 'load-' || g, 'load', 'items.create', '{}', 'succeeded', '{}', 86400, now() + interval '1 day'
      from generate_series(1, ${FINISHED}) g
      returning id`.execute(ctx.db);
    finished = rows.rows.map((r) => r.id);
    await ctx.startWorker();
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
  });

  it(
    `${FINISHED} finished and ${LIVE} live requests followed at ${PER_SECOND}/s: every outcome a push, none refused or long-polled; the flooding sockets closed`,
    { timeout: 60_000 },
    async () => {
      const counts = { pushes: new Set<string>(), rateLimited: 0 };
      const { fetch, attempts } = recordingFetch();
      const client = createClient({ baseUrl, apiKey: TENANTS.acme.secret, fetch, WebSocket: countingWebSocket(counts) });

      // hostile: two unauthenticated sockets and one of another tenant sending what is not the protocol,
      // and one of another tenant sending valid but useless messages as fast as it can
      const anonymous = [await openSocket(url), await openSocket(url)];
      const garbage = await openSocket(url, auth('globex'));
      const churn = await openSocket(url, auth('globex'));
      const hostile = [
        ...anonymous.map((s, n) => flood(s, (i) => (i % 2 ? `{"type":"ping","n":${n}}` : 'garbage'))),
        flood(garbage, (i) => `{"type":"frobnicate","i":${i}}`),
        flood(churn, (i) => JSON.stringify({ type: 'unsubscribe', requestId: `r-${i}` })),
      ];

      const started = performance.now();
      const outcomes: Promise<string>[] = [];
      const follow = (id: string) =>
        outcomes.push(
          client.awaitOutcome(id, { timeoutMs: 45_000 }).then((o) => {
            settled++;
            return o.status;
          }),
        );
      const live = Promise.all(
        Array.from({ length: 10 }, async (_, n) => {
          for (let i = n; i < LIVE; i += 10) {
            const res = await submit(app, '/v1/items', { name: 'item', quantity: 1 });
            expect(res.statusCode, res.body).toBe(202);
            follow(res.json().id);
          }
        }),
      );
      let settled = 0;
      for (let i = 0; i < FINISHED;) {
        // as a client that knows the socket's 1,000 subscriptions: never more than 800 unanswered at once
        const due = Math.min(FINISHED, Math.ceil(((performance.now() - started) / 1000) * PER_SECOND) + 20, settled + 800);
        for (; i < due; i++) follow(finished[i]!);
        await new Promise((r) => setTimeout(r, 20));
      }
      const followedIn = (performance.now() - started) / 1000;
      await live;
      const statuses = await Promise.all(outcomes);
      const doneIn = (performance.now() - started) / 1000;
      const [sentA, sentB, sentGarbage, sentChurn] = await Promise.all(hostile);
      const closes = await Promise.all([...anonymous, garbage, churn].map((s) => s.closed));
      const polls = attempts.filter((a) => a.method === 'GET' && a.url.includes('/v1/requests/'));
      console.log(
        `followed ${FINISHED} finished in ${followedIn.toFixed(1)} s (${Math.round(FINISHED / followedIn)}/s) and ${LIVE} live; all done after ${doneIn.toFixed(1)} s;`,
        `pushes ${counts.pushes.size}, rate_limited ${counts.rateLimited}, long-polls ${polls.length};`,
        `hostile sent ${sentA}, ${sentB}, ${sentGarbage}, ${sentChurn}; answered ${[...anonymous, garbage, churn].map((s) => s.messages.length).join(', ')}; closed ${closes.map((c) => c.code).join(', ')}`,
      );
      client.close();

      expect(statuses.filter((s) => s !== 'succeeded')).toEqual([]);
      // 600/s asked; on a loaded 2-core machine shared by the server and this test, 250+ is the margin
      expect(FINISHED / followedIn).toBeGreaterThan(250);
      // every outcome came as a push over the one socket: none was refused, none fell back to long-polling
      expect(counts.pushes.size).toBe(FINISHED + LIVE);
      expect(counts.rateLimited).toBe(0);
      expect(polls).toEqual([]);
      // the unauthenticated sockets were closed at their first message, unanswered; the others soon
      expect(closes.map((c) => c.code)).toEqual([CLOSE.policyViolation, CLOSE.policyViolation, CLOSE.policyViolation, CLOSE.messageFlood]);
      for (const s of anonymous) expect(s.messages).toEqual([]);
      expect(garbage.messages.length).toBe(WS_LIMITS.maxBadMessages);
      expect(churn.messages.length).toBeLessThanOrEqual(WS_LIMITS.floodCloseAfter);
    },
  );
});
