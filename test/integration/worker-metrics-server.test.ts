import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { ATTACKER, type RawClient, rawClientFrom } from '../helpers/bound-client.ts';
import { ADMIN_TOKEN, adminAuth, createTestContext, type TestContext } from '../helpers/context.ts';
import { expectProblem } from '../helpers/problem.ts';

const opened: RawClient[] = [];
let ctx: TestContext | undefined;
afterAll(async () => {
  for (const c of opened) c.socket.destroy();
  await ctx?.close();
});

const asInjected = async (res: Response) => {
  const body = await res.text();
  return { statusCode: res.status, body, headers: Object.fromEntries(res.headers), json: () => JSON.parse(body) };
};

describe("a worker's metrics port", () => {
  it("binds WORKER_METRICS_HOST (loopback by default, whatever HOST), demands the admin token and has the API's socket limits", async () => {
    const port = await freePort();
    ctx = await createTestContext({
      HOST: '0.0.0.0',
      HTTP_HEADERS_TIMEOUT_MS: '400',
      HTTP_REQUEST_TIMEOUT_MS: '1000',
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '2',
    });
    await ctx.startWorker({ WORKER_METRICS_PORT: String(port) });
    const url = `http://127.0.0.1:${port}/metrics`;

    expectProblem(await asInjected(await fetch(url)), 401, 'unauthorized');
    const wrong = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } });
    expectProblem(await asInjected(wrong), 401, 'unauthorized');
    const ok = await fetch(url, { headers: adminAuth });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('idemq_worker_');

    // not on another loopback address: bound to 127.0.0.1, not HOST's 0.0.0.0
    await expect(fetch(`http://127.0.0.2:${port}/metrics`, { headers: adminAuth })).rejects.toThrow();

    // headers that never end are cut at the headers deadline; a third socket of one address is refused
    const slow = await rawClientFrom(ATTACKER, port);
    const second = await rawClientFrom(ATTACKER, port);
    opened.push(slow, second);
    const start = Date.now();
    slow.socket.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n`);
    second.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    const third = await rawClientFrom(ATTACKER, port);
    opened.push(third);
    await Promise.race([third.closed, new Promise((r) => setTimeout(r, 2_000))]);
    expect(third.isClosed()).toBe(true);
    expect(third.received()).toBe('');
    await Promise.race([slow.closed, new Promise((r) => setTimeout(r, 5_000))]);
    expect(slow.isClosed()).toBe(true);
    expect(Date.now() - start).toBeLessThan(3_000);
  }, 20_000);
});
