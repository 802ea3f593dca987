import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledger } from '../../examples/ledger/app.ts';
import { createDb } from '../../src/db/create-db.ts';
import { coreMigrations } from '../../src/db/migrations/index.ts';
import { migrate } from '../../src/db/migrator.ts';
import { createRegistry } from '../../src/operations/registry.ts';
import { processRequests } from '../../workers/process-batch.ts';
import { legacyMigrations } from '../fixtures/legacy-migrations/index.ts';
import { adminQuery, databaseUrl } from '../helpers/postgres.ts';
import { TEST_SERVICES } from '../helpers/services.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A fresh, empty database migrated by the releases that kept everything in `public`, up to `upTo`. */
async function legacyDatabase(upTo?: string): Promise<{ url: string; db: Kysely<any>; drop(): Promise<void> }> {
  const name = `idemq_test_legacy_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = databaseUrl(name);
  const { db } = createDb({ connectionString: url, poolSize: 2 });
  const migrator = new Migrator({ db, provider: { getMigrations: async () => legacyMigrations } });
  const { error } = upTo ? await migrator.migrateTo(upTo) : await migrator.migrateToLatest();
  if (error) throw error;
  return {
    url,
    db,
    async drop() {
      await db.destroy();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** `npm run migrate` of the ledger demo, on `url`; resolves with its exit code and output. */
function runMigrate(url: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['examples/ledger/migrate.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, DATABASE_URL: url, REDIS_URL: TEST_SERVICES.redisUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('a database in the earlier layout (every table in public), carried over by npm run migrate', () => {
  let legacy: Awaited<ReturnType<typeof legacyDatabase>>;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    legacy = await legacyDatabase();
    const { db } = legacy;
    const [a, b] = (
      await sql<{ id: string }>`
      insert into accounts (tenant_id, currency, balance, name) values ('acme', 'USD', 100, 'a'), ('acme', 'USD', 5, 'b') returning id`.execute(
        db,
      )
    ).rows.map((r) => r.id);
    ids.a = a!;
    ids.b = b!;
    const insertRequest = async (key: string, status: string, payload: object, expires: boolean) =>
      (
        await sql<{ id: string }>`
        insert into requests (tenant_id, idempotency_key, fingerprint, operation, payload, status, result, retention_seconds, expires_at)
        values ('acme', ${key}, 'fp', 'payments.create', ${JSON.stringify(payload)}, ${status}, ${status === 'succeeded' ? '{"paid":true}' : null}, 86400,
                ${expires ? sql`now() + interval '1 day'` : null})
        returning id`.execute(db)
      ).rows[0]!.id;
    ids.done = await insertRequest('k-done', 'succeeded', { fromAccount: a, toAccount: b, amount: 10, currency: 'USD' }, true);
    ids.queued = await insertRequest('k-queued', 'queued', { fromAccount: a, toAccount: b, amount: 7, currency: 'USD' }, false);
    await sql`insert into payments (tenant_id, request_id, from_account, to_account, amount, currency) values ('acme', ${ids.done}, ${a}, ${b}, 10, 'USD')`.execute(
      db,
    );
    await sql`insert into outbox (request_id, payload) values (${ids.queued}, '{"requestId":"x"}')`.execute(db);
  });
  afterAll(() => legacy?.drop());

  it('moves requests, outbox, accounts and payments into their schemas, rows and constraints and all', async () => {
    const { code, output } = await runMigrate(legacy.url);
    expect(code, output).toBe(0);
    expect(output).toMatch(/idemq\/2026_12_02_001_idemq_schema[\s\S]*ledger\/2026_12_02_001_ledger_schema/);
    const { db } = legacy;
    const left = await sql<{ name: string }>`
      select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relname in ('requests', 'outbox', 'accounts', 'payments')`.execute(db);
    expect(left.rows).toEqual([]);
    const requests = await sql<{
      idempotency_key: string;
      status: string;
      result: unknown;
    }>`select idempotency_key, status, result from idemq.requests order by idempotency_key`.execute(db);
    expect(requests.rows).toEqual([
      { idempotency_key: 'k-done', status: 'succeeded', result: { paid: true } },
      { idempotency_key: 'k-queued', status: 'queued', result: null },
    ]);
    expect((await sql`select request_id from idemq.outbox`.execute(db)).rows).toEqual([{ request_id: ids.queued }]);
    const accounts = await sql<{ name: string; balance: number }>`select name, balance from ledger.accounts order by name`.execute(db);
    expect(accounts.rows).toEqual([
      { name: 'a', balance: 100 },
      { name: 'b', balance: 5 },
    ]);
    expect((await sql`select request_id from ledger.payments`.execute(db)).rows).toEqual([{ request_id: ids.done }]);
    // the constraints came along: the unique key, the money range
    await expect(
      sql`insert into idemq.requests (tenant_id, idempotency_key, fingerprint, operation, payload, retention_seconds) values ('acme', 'k-done', 'x', 'y', '{}', 1)`.execute(
        db,
      ),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(sql`update ledger.accounts set balance = 9007199254740992 where name = 'a'`.execute(db)).rejects.toMatchObject({
      code: '23514',
    });
    const recorded = await sql<{ name: string }>`select name from idemq.kysely_migration`.execute(db);
    // every core migration, the ones after the move included (a migrated legacy table takes them too)
    expect(recorded.rows.map((r) => r.name).sort()).toEqual(Object.keys(coreMigrations).sort());
    expect(
      (
        await sql<{
          attempts: number;
          lease_until: Date | null;
        }>`select attempts, lease_until from idemq.requests where id = ${ids.done}`.execute(db)
      ).rows,
    ).toEqual([{ attempts: 0, lease_until: null }]);
  });

  it('runs the request that was still queued with the moved tables, once, and a second migrate is a no-op', async () => {
    const [result] = await processRequests(legacy.db, [ids.queued!], createRegistry(ledger.operations).find);
    expect(result).toMatchObject({ kind: 'completed', row: { status: 'succeeded', result: { fromBalance: 93, toBalance: 12 } } });
    const payments = await sql<{ n: number }>`select count(*)::int as n from ledger.payments where request_id = ${ids.queued}`.execute(
      legacy.db,
    );
    expect(payments.rows[0]?.n).toBe(1);
    const again = await runMigrate(legacy.url);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('schema is up to date');
  });
});

describe('a database in the earlier layout that never ran its last migration', () => {
  let legacy: Awaited<ReturnType<typeof legacyDatabase>>;
  beforeAll(async () => {
    legacy = await legacyDatabase('2026_12_01_003_money_range');
  });
  afterAll(() => legacy?.drop());

  it('is refused, naming what to run, and left as it was', async () => {
    await expect(migrate(legacy.db, [ledger.migrations!])).rejects.toThrow(/2026_12_01_004_retention_from_completion/);
    const still = await sql<{ found: boolean }>`select to_regclass('public.requests') is not null as found`.execute(legacy.db);
    expect(still.rows[0]?.found).toBe(true);
  });
});
