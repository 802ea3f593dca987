import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACKER, type Answer, type RawClient, rawClientFrom, requestFrom, TENANT_ADDRESS } from '../helpers/bound-client.ts';
import { auth, createTestContext, type TestContext } from '../helpers/context.ts';

const ATTACK_MS = 5_000;
/** sockets the attacker tries to hold at once: more than the server has */
const HOLD = 80;
const FLOODERS = 2;

/** ~0.9 MB of JSON with 65,000 keys: the body that costs 11–17 ms of parsing each */
const BODY = JSON.stringify(Object.fromEntries(Array.from({ length: 65_000 }, (_, i) => [`k${i}`, i])));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Infinity;

describe('a tenant served while another address floods connections and unknown-route bodies', () => {
  let ctx: TestContext;
  let port: number;
  beforeAll(async () => {
    ctx = await createTestContext({ HTTP_MAX_CONNECTIONS: '50', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '20' });
    const app = await ctx.startApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(() => ctx?.close());

  it(`keeps the tenant's success rate and latency for ${ATTACK_MS / 1000} s`, async () => {
    const until = Date.now() + ATTACK_MS;
    const held = new Set<RawClient>();

    // opens sockets with headers that never end, and opens another as soon as one is closed
    const holder = async () => {
      while (Date.now() < until) {
        const client = await rawClientFrom(ATTACKER, port).catch(() => undefined);
        if (client) {
          held.add(client);
          client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
          await Promise.race([client.closed, new Promise((r) => setTimeout(r, until - Date.now()))]);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const flooder = async () => {
      while (Date.now() < until) {
        await requestFrom(ATTACKER, port, {
          method: 'POST',
          path: `/x/${randomUUID()}`,
          headers: { 'content-type': 'application/json' },
          body: BODY,
          timeoutMs: 3_000,
        }).catch(() => undefined);
      }
    };
    const tenant = async () => {
      const answers: (Answer | Error)[] = [];
      while (Date.now() < until) {
        const answer = await requestFrom(TENANT_ADDRESS, port, {
          method: 'POST',
          path: '/v1/items',
          headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({ name: 'item', quantity: 1 }),
          timeoutMs: 5_000,
        }).catch((err: Error) => err);
        answers.push(answer);
        await new Promise((r) => setTimeout(r, 50));
      }
      return answers;
    };

    const attack = [...Array.from({ length: HOLD }, holder), ...Array.from({ length: FLOODERS }, flooder)];
    // the attack first, so the tenant arrives at a server already under it
    await new Promise((r) => setTimeout(r, 300));
    const answers = await tenant();
    await Promise.all(attack);
    for (const c of held) c.socket.destroy();

    const ok = answers.filter((a): a is Answer => !(a instanceof Error) && a.status === 202);
    const rate = ok.length / answers.length;
    const p50 = median(ok.map((a) => a.ms));
    console.log(`tenant: ${ok.length}/${answers.length} accepted (${(rate * 100).toFixed(0)} %), p50 ${p50} ms`);
    expect(answers.length).toBeGreaterThanOrEqual(5);
    expect(rate).toBeGreaterThanOrEqual(0.9);
    expect(p50).toBeLessThan(2_000);
  }, 30_000);
});
