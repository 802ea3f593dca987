import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import type { FastifyInstance } from 'fastify';
import { Compile } from 'typebox/compile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../../src/http/ws-session.ts';
import { adminAuth, auth, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { openSocket } from '../helpers/ws-client.ts';

type Json = Record<string, any>;

let ctx: TestContext;
let app: FastifyInstance;
let doc: Json;

beforeAll(async () => {
  ctx = await createTestContext();
  app = await ctx.startApi();
  await app.listen({ host: '127.0.0.1', port: 0 });
  // served by the admin server only
  const res = await (await ctx.startAdmin(app)).inject({ url: '/docs/asyncapi.json', headers: adminAuth });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});
afterAll(() => ctx.close());

const session = () => doc.channels.session;
const payloadOf = (name: string) => doc.components.messages[name]?.payload;
/** The document's message whose payload `type` is this one. */
const messageNamed = (type: string) =>
  Object.entries<Json>(doc.components.messages).find(([, m]) => m.payload?.properties?.type?.const === type)?.[0];
const errorCodes = (): string[] => {
  const code = payloadOf('error').properties.code;
  return (code.anyOf ?? code.oneOf ?? []).map((c: Json) => c.const).concat(code.enum ?? []);
};

describe('the AsyncAPI document at /docs/asyncapi.json', () => {
  it('is a valid AsyncAPI 3.0 document', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    expect(diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    expect(
      document!
        .channels()
        .all()
        .map((c) => c.address()),
    ).toEqual(['/v1/ws']);
    const operations = document!.operations().all();
    expect(
      operations
        .filter((o) => o.isReceive())
        .flatMap((o) =>
          o
            .messages()
            .all()
            .map((m) => m.name()),
        )
        .sort(),
    ).toEqual(['auth', 'subscribe', 'unsubscribe']);
    expect(
      operations
        .filter((o) => o.isSend())
        .flatMap((o) =>
          o
            .messages()
            .all()
            .map((m) => m.name()),
        )
        .sort(),
    ).toEqual(['error', 'status']);
  });

  it('names every message type, error code and close code the session code uses', () => {
    const source = readFileSync(new URL('../../src/http/ws-session.ts', import.meta.url), 'utf8');
    const received = [...source.matchAll(/type === '(\w+)'/g)].map((m) => m[1]!);
    const sent = [...source.matchAll(/\{ type: '(\w+)'/g)].map((m) => m[1]!);
    const codes = [...source.matchAll(/(?:error|bad)\('(\w+)'/g)].map((m) => m[1]!);
    expect(new Set(received)).toEqual(new Set(['auth', 'subscribe', 'unsubscribe']));
    expect(new Set(sent)).toEqual(new Set(['authenticated', 'status', 'error']));
    expect(codes.length).toBeGreaterThanOrEqual(5);
    for (const type of [...received, ...sent]) expect(messageNamed(type), `message ${type}`).toBe(type);
    expect(errorCodes().sort()).toEqual([...new Set(codes)].sort());
    const closeCodes = session()['x-close-codes'].map((c: Json) => c.code);
    expect(closeCodes).toEqual(expect.arrayContaining([4401, 4408, ...Object.values(CLOSE)]));
    for (const c of session()['x-close-codes']) expect(c.meaning.length, String(c.code)).toBeGreaterThan(0);
  });

  it('describes the messages a real session sends, and its close code', async () => {
    const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/ws`;
    const ws = await openSocket(url);
    ws.send({ type: 'auth', token: TENANTS.acme.secret });
    await ws.next((m) => m.type === 'authenticated');
    ws.send('not json');
    await ws.next((m) => m.code === 'bad_message');
    ws.send({ type: 'subscribe', requestId: 'not-a-uuid' });
    const submitted = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { ...auth(), 'idempotency-key': crypto.randomUUID() },
      payload: { name: 'item', quantity: 1 },
    });
    ws.send({ type: 'subscribe', requestId: submitted.json().id });
    await ws.next((m) => m.type === 'status');
    await ws.next((m) => m.code === 'not_found');
    ws.ws.close();

    const seen = new Set<string>();
    for (const m of ws.messages) {
      const name = messageNamed(m.type);
      expect(name, JSON.stringify(m)).toBeDefined();
      const check = Compile(payloadOf(name!));
      expect(
        [...check.Errors(m)].map((e) => `${e.instancePath} ${e.message}`),
        JSON.stringify(m),
      ).toEqual([]);
      seen.add(m.type === 'error' ? `error:${m.code}` : m.type);
    }
    expect([...seen].sort()).toEqual(['authenticated', 'error:bad_message', 'error:not_found', 'status']);

    for (const first of [
      { type: 'auth', token: 'sk_wrong_0123456789' },
      { type: 'subscribe', requestId: crypto.randomUUID() },
    ]) {
      const refused = await openSocket(url);
      refused.send(first);
      const { code } = await refused.closed;
      expect(session()['x-close-codes'].map((c: Json) => c.code)).toContain(code);
    }
  });
});
