import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { fingerprintRequest } from '../../src/idempotency/fingerprint.ts';
import { createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';

const API_MAIN = fileURLToPath(new URL('../fixtures/app/api.ts', import.meta.url));
/** far below what a cache of whole rows needs for 2 x RECORDS records of ~1 MiB (the code before ran out after ~20) */
const HEAP_MB = 64;
const RECORDS = 40;
const MIB = 1024 * 1024;
const CLIENTS = 3;
const BODY = { name: 'item', quantity: 1 };

/** The fixture app's API as a process with a small heap; resolves once it listens. */
async function startSmallHeapApi(ctx: TestContext, port: number) {
  const { config } = ctx;
  const child: ChildProcess = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, API_MAIN], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: config.databaseUrl,
      REDIS_URL: config.redisUrl,
      QUEUE_PREFIX: config.queuePrefix,
      API_KEYS: `${TENANTS.acme.id}:${TENANTS.acme.secret}`,
      RATE_LIMIT_PER_MINUTE: '1000000',
      PORT: String(port),
      ADMIN_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      REPLAY_CACHE_BYTES: String(4 * 1024 * 1024),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const base = `http://127.0.0.1:${port}`;
  // a loaded machine may take long to start it
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`API exited before listening:\n${output}`);
    if ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`API did not listen:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    get output() {
      return output;
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('the replay cache under a small heap', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
    // finished records of ~1 MiB: payloads under another fingerprint (replays are mismatches), and
    // results of this body's fingerprint (replays are answered with them); Postgres compresses them
    await sql`
      insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, result, retention_seconds, expires_at)
      select ${TENANTS.acme.id}, 'big-payload-' || i, 'another-body', 'items.create', jsonb_build_object('pad', repeat('x', ${MIB})),
             'succeeded', '{"ok":1}', 3600, now() + interval '1 hour'
        from generate_series(1, ${RECORDS}) i`.execute(ctx.db);
    await sql`
      insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, result, retention_seconds, expires_at)
      select ${TENANTS.acme.id}, 'big-result-' || i, ${fingerprintRequest('POST', '/v1/items', BODY)}, 'items.create', ${JSON.stringify(BODY)}::jsonb,
             'succeeded', jsonb_build_object('itemId', ${randomUUID()}::text, 'name', repeat('y', ${MIB}), 'quantity', 1, 'left', null),
             3600, now() + interval '1 hour'
        from generate_series(1, ${RECORDS}) i`.execute(ctx.db);
  });
  let api: Awaited<ReturnType<typeof startSmallHeapApi>> | undefined;
  afterAll(async () => {
    await api?.stop();
    await ctx?.close();
  });

  it('stays up while many large records are replayed, with another body and with the same one', async () => {
    api = await startSmallHeapApi(ctx, await freePort());
    const replay = async (key: string) => {
      const res = await fetch(`${api!.base}/v1/items`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TENANTS.acme.secret}`, 'idempotency-key': key, 'content-type': 'application/json' },
        body: JSON.stringify(BODY),
      });
      await res.arrayBuffer();
      return res.status;
    };
    try {
      const statuses: number[] = [];
      const keys = Array.from({ length: RECORDS }, (_, i) => [`big-payload-${i + 1}`, `big-result-${i + 1}`]).flat();
      // a few clients at once, as an attacker would
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          for (let key = keys.shift(); key !== undefined && api!.alive(); key = keys.shift())
            statuses.push(await replay(key).catch(() => 0));
        }),
      );
      expect(api.alive(), api.output).toBe(true);
      expect(statuses.filter((s) => s === 422)).toHaveLength(RECORDS);
      expect(statuses.filter((s) => s === 202)).toHaveLength(RECORDS);
    } finally {
      await api.stop();
    }
  }, 180_000);
});
