import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClient,
  Forbidden,
  IdempotencyKeyReused,
  NotFound,
  ProblemError,
  Unauthorized,
  ValidationError,
} from '../../clients/typescript/src/index.ts';
import type { paths as LedgerPaths } from '../../clients/typescript/examples/ledger-paths.ts';
import { listenBehindProxy, recordingFetch } from '../helpers/client-fixtures.ts';
import { TENANTS, type TestContext } from '../helpers/context.ts';
import { createKey } from '../helpers/keys-cli.ts';
import { waitUntil } from '../helpers/wait-until.ts';
import type { TcpProxy } from '../helpers/tcp-proxy.ts';
// these tests run on the ledger, with its paths (clients/typescript/examples/ledger-paths.ts) as a service's own
import { balanceOf, createLedgerContext, insertAccount, paymentsOf } from '../../examples/ledger/test/ledger-seed.ts';

const apiKey = TENANTS.acme.secret;
const fast = { baseDelayMs: 20, maxDelayMs: 200 };

describe('client submit against the real service', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let proxy: TcpProxy;
  let baseUrl: string;
  beforeAll(async () => {
    ctx = await createLedgerContext();
    app = await ctx.startApi();
    ({ proxy, baseUrl } = await listenBehindProxy(app));
    await ctx.startWorker();
  });
  afterAll(async () => {
    await proxy?.close();
    await ctx?.close();
  });

  it('an answer lost after the request arrived: retried with the same key, same request (replayed), the payment made once', async () => {
    const from = await insertAccount(ctx, 10_000);
    const to = await insertAccount(ctx, 0);
    const { fetch, attempts } = recordingFetch();
    const client = createClient<LedgerPaths>({ baseUrl, apiKey, fetch, retry: fast });
    proxy.dropAnswers(1);
    const submission = await client.submit('/v1/payments', { fromAccount: from, toAccount: to, amount: 2500, currency: 'USD' });
    expect(attempts.length).toBe(2);
    expect(attempts[0]!.error).toBeDefined();
    expect(attempts[1]!.status).toBe(202);
    // a generated key (UUID), the same on the retry
    expect(submission.idempotencyKey).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(attempts.map((a) => a.idempotencyKey)).toEqual([submission.idempotencyKey, submission.idempotencyKey]);
    // the first attempt was recorded: the retry is its replay
    expect(submission.replayed).toBe(true);
    expect(submission.location).toBe(`/v1/requests/${submission.id}`);
    const rows = await ctx.db.selectFrom('idemq.requests').select('id').where('idempotency_key', '=', submission.idempotencyKey).execute();
    expect(rows.map((r) => r.id)).toEqual([submission.id]);

    const outcome = await client.awaitOutcome(submission, { timeoutMs: 15_000 });
    expect(outcome.status).toBe('succeeded');
    expect(await paymentsOf(ctx, submission.id)).toBe(1);
    expect([await balanceOf(ctx, from), await balanceOf(ctx, to)]).toEqual([7500, 2500]);
    client.close();
  });

  it('the same key with another body: IdempotencyKeyReused (422), not retried', async () => {
    const { fetch, attempts } = recordingFetch();
    const client = createClient<LedgerPaths>({ baseUrl, apiKey, fetch, retry: fast });
    const idempotencyKey = `reuse-${crypto.randomUUID()}`;
    const first = await client.submit('/v1/accounts', { currency: 'USD', openingBalance: 1 }, { idempotencyKey });
    expect(first.replayed).toBe(false);
    const err = await client.submit('/v1/accounts', { currency: 'USD', openingBalance: 2 }, { idempotencyKey }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyKeyReused);
    expect(err).toBeInstanceOf(ProblemError);
    expect(err).toMatchObject({ status: 422, type: 'https://idemq.dev/problems/idempotency-key-reused' });
    expect((err as ProblemError).requestId).toBeTruthy();
    expect(attempts.length).toBe(2);
    // the original is untouched, and the same body is still a replay
    const again = await client.submit('/v1/accounts', { currency: 'USD', openingBalance: 1 }, { idempotencyKey });
    expect({ id: again.id, replayed: again.replayed }).toEqual({ id: first.id, replayed: true });
  });

  it("a body the schema refuses: ValidationError with the problem's errors[], not retried", async () => {
    const { fetch, attempts } = recordingFetch();
    const client = createClient<LedgerPaths>({ baseUrl, apiKey, fetch });
    // hostile input the types forbid, as a caller without them might send
    const err = await client.submit('/v1/payments', { amount: -5, currency: 'USD' } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).status).toBe(400);
    expect((err as ValidationError).errors.length).toBeGreaterThan(0);
    expect((err as ValidationError).errors[0]).toMatchObject({ pointer: expect.any(String), detail: expect.any(String) });
    expect(attempts.length).toBe(1);
    const text = await client.submit('/v1/accounts', { currency: 'USD', openingBalance: 1, name: 'nul\u0000' }).catch((e: unknown) => e);
    expect(text).toBeInstanceOf(ValidationError);
    expect((text as ValidationError).errors[0]!.pointer).toBe('#/name');
  });

  it('a wrong API key: Unauthorized, over HTTP and over the WebSocket', async () => {
    const client = createClient<LedgerPaths>({ baseUrl, apiKey: 'sk_wrong_0123456789' });
    await expect(client.submit('/v1/accounts', { currency: 'USD', openingBalance: 1 })).rejects.toBeInstanceOf(Unauthorized);
    await expect(client.awaitOutcome(crypto.randomUUID(), { timeoutMs: 10_000 })).rejects.toBeInstanceOf(Unauthorized);
    client.close();
  });

  it('a read-only key: Forbidden on submit, never retried, while it still awaits outcomes', async () => {
    const { secret } = await createKey(ctx.config.databaseUrl, 'acme', ['read']);
    // the API learns of a stored key at its next key refresh
    await waitUntil(
      'the key known',
      async () =>
        (await app.inject({ url: `/v1/requests/${crypto.randomUUID()}`, headers: { authorization: `Bearer ${secret}` } })).statusCode ===
        404,
    );
    const { fetch, attempts } = recordingFetch();
    const reader = createClient<LedgerPaths>({ baseUrl, apiKey: secret, fetch, retry: fast });
    const err = await reader.submit('/v1/accounts', { currency: 'USD', openingBalance: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Forbidden);
    expect((err as Forbidden).problem.type).toMatch(/\/insufficient-scope$/);
    expect(attempts.length).toBe(1);
    const writer = createClient<LedgerPaths>({ baseUrl, apiKey });
    const submitted = await writer.submit('/v1/accounts', { currency: 'USD', openingBalance: 1 });
    expect((await reader.awaitOutcome(submitted.id, { timeoutMs: 10_000 })).status).toBe('succeeded');
    reader.close();
    writer.close();
  });

  it("another tenant's request or an unknown id: NotFound, over the WebSocket and by long-poll", async () => {
    const globex = createClient<LedgerPaths>({ baseUrl, apiKey: TENANTS.globex.secret });
    const theirs = await globex.submit('/v1/accounts', { currency: 'USD', openingBalance: 1 });
    for (const WebSocket of [undefined, null]) {
      const client = createClient<LedgerPaths>({ baseUrl, apiKey, WebSocket });
      await expect(client.awaitOutcome(theirs.id, { timeoutMs: 10_000 })).rejects.toBeInstanceOf(NotFound);
      await expect(client.awaitOutcome('not-a-uuid', { timeoutMs: 10_000 })).rejects.toBeInstanceOf(NotFound);
      client.close();
    }
    globex.close();
  });

  it("takes only the service's routes and their bodies, as the OpenAPI document types them (checked by tsc)", () => {
    const client = createClient<LedgerPaths>({ baseUrl, apiKey });
    // never called: the compiler is the test
    const uses = [
      // @ts-expect-error not a submit route of the service
      () => client.submit('/v1/refunds', {}),
      // @ts-expect-error a payment names both accounts
      () => client.submit('/v1/payments', { amount: 1, currency: 'USD' }),
      // @ts-expect-error an amount is a number of minor units
      () => client.run('/v1/accounts', { currency: 'USD', openingBalance: '10' }),
      () => client.submit('/v1/accounts', { currency: 'USD', openingBalance: 10, name: 'ok' }),
    ];
    expect(uses.length).toBe(4);
  });

  it('run: submit and the outcome in one call; a business refusal is an outcome, not an error', async () => {
    const client = createClient<LedgerPaths>({ baseUrl, apiKey });
    const alice = await client.run('/v1/accounts', { currency: 'USD', openingBalance: 100, name: 'alice' });
    expect(alice).toMatchObject({ status: 'succeeded', replayed: false });
    const accountId = (alice.result as { accountId: string }).accountId;
    const bob = await client.run('/v1/accounts', { currency: 'USD', openingBalance: 0 });
    const refused = await client.run('/v1/payments', {
      fromAccount: accountId,
      toAccount: (bob.result as { accountId: string }).accountId,
      amount: 101,
      currency: 'USD',
    });
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'insufficient_funds' } });
    // with Prefer: wait the outcome may come with the submit itself
    const waited = await client.run('/v1/accounts', { currency: 'USD', openingBalance: 5 }, { wait: 10 });
    expect(waited.status).toBe('succeeded');
    client.close();
  });
});
