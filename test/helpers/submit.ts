import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { processRequests } from '../../workers/process-batch.ts';
import { processRequest } from '../../workers/process-request.ts';
import { auth, type TENANTS, type TestContext } from './context.ts';

export type Tenant = keyof typeof TENANTS;

/** POSTs an operation's body to its route with a fresh (or given) key; returns the inject response. */
export function submit(
  app: FastifyInstance,
  url: string,
  body: unknown,
  opts: { key?: string; tenant?: Tenant; headers?: Record<string, string> } = {},
) {
  return app.inject({
    method: 'POST',
    url,
    headers: { ...auth(opts.tenant), 'idempotency-key': opts.key ?? randomUUID(), 'content-type': 'application/json', ...opts.headers },
    payload: JSON.stringify(body),
  });
}

/** POSTs an operation (see submit) that must be accepted (202); returns the request's id. */
export async function submitAccepted(
  app: FastifyInstance,
  url: string,
  body: unknown,
  opts: Parameters<typeof submit>[3] = {},
): Promise<string> {
  const res = await submit(app, url, body, opts);
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}

/** Long-polls a request until it is terminal (or 10 s pass) and returns its JSON. */
export async function awaitTerminal(app: FastifyInstance, id: string, tenant?: Tenant) {
  const res = await app.inject({ method: 'GET', url: `/v1/requests/${id}?wait=10`, headers: auth(tenant) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/**
 * Runs a recorded request through the worker's own transaction, in this process, without a
 * BullMQ worker: for tests that need a request to stay unfinished until they say so.
 */
export async function processNow(ctx: TestContext, id: string) {
  const r = await processRequest(ctx.db, id, ctx.find);
  if (r.kind === 'missing') throw new Error(`request ${id} does not exist`);
  return r.row;
}

/** How many idempotency records the context's database holds. */
export async function countRequests(ctx: TestContext): Promise<number> {
  const { n } = await ctx.db
    .selectFrom('idemq.requests')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** Runs recorded requests as one batch of the worker's (one transaction), in this process. */
export function processBatchNow(ctx: TestContext, ids: readonly string[]) {
  return processRequests(ctx.db, ids, ctx.find);
}
