import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SocketConstructor } from '../../clients/typescript/src/index.ts';
import { recordingFetch } from '../helpers/client-fixtures.ts';
import { createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';

const PER_SECOND = 20;
const FOLLOWED = 40;

/** The platform's WebSocket, counting the `rate_limited` errors and status pushes the client receives. */
function countingWebSocket(counts: { rateLimited: number; pushes: Set<string> }): SocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      this.addEventListener('message', (event) => {
        const m = JSON.parse(String(event.data));
        if (m.code === 'rate_limited') counts.rateLimited++;
        if (m.type === 'status') counts.pushes.add(m.requestId);
      });
    }
  } as unknown as SocketConstructor;
}

describe(`the client when the service refuses subscribes as over its rate (WS_MESSAGES_PER_SECOND=${PER_SECOND})`, () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let baseUrl: string;
  let finished: string[];
  beforeAll(async () => {
    ctx = await createTestContext({ WS_MESSAGES_PER_SECOND: String(PER_SECOND) });
    app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const rows = await sql<{ id: string }>`
      insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, result, retention_seconds, expires_at)
      select ${TENANTS.acme.id}, 'limited-' || g, 'limited', 'openAccount', '{}', 'succeeded', '{}', 86400, now() + interval '1 day'
      from generate_series(1, ${FOLLOWED}) g
      returning id`.execute(ctx.db);
    finished = rows.rows.map((r) => r.id);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it(`${FOLLOWED} waits at once over one socket: the refused subscribes are sent again after a backoff, every outcome comes as a push, none long-polls`, async () => {
    const counts = { rateLimited: 0, pushes: new Set<string>() };
    const { fetch, attempts } = recordingFetch();
    const client = createClient({ baseUrl, apiKey: TENANTS.acme.secret, fetch, WebSocket: countingWebSocket(counts) });
    const outcomes = await Promise.all(finished.map((id) => client.awaitOutcome(id, { timeoutMs: 20_000 })));
    const polls = attempts.filter((a) => a.method === 'GET');
    console.log(`rate_limited ${counts.rateLimited}, pushes ${counts.pushes.size}, long-polls ${polls.length}`);
    client.close();
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
    expect(counts.rateLimited).toBeGreaterThan(0);
    expect(counts.pushes.size).toBe(FOLLOWED);
    expect(polls).toEqual([]);
  });

  it('a subscribe refused more than `rateLimitedRetries` times falls back to long-polling: the wait still resolves', async () => {
    const counts = { rateLimited: 0, pushes: new Set<string>() };
    const { fetch, attempts } = recordingFetch();
    const client = createClient({
      baseUrl,
      apiKey: TENANTS.acme.secret,
      fetch,
      WebSocket: countingWebSocket(counts),
      socket: { rateLimitedRetries: 0 },
    });
    const outcomes = await Promise.all(finished.map((id) => client.awaitOutcome(id, { timeoutMs: 20_000 })));
    const polls = attempts.filter((a) => a.method === 'GET');
    console.log(`rate_limited ${counts.rateLimited}, pushes ${counts.pushes.size}, long-polls ${polls.length}`);
    client.close();
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
    expect(counts.rateLimited).toBeGreaterThan(0);
    expect(polls.length).toBeGreaterThan(0);
  });
});
