import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureMigrations } from '../fixtures/app/migrations/index.ts';
import { coreMigrations } from '../../src/db/migrations/index.ts';
import { createApiDeps } from '../../src/deps.ts';
import { startWorker } from '../../workers/start-worker.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';

const silent = pino({ level: 'silent' });

describe.each([
  { set: 'the core', schema: 'idemq', migrations: coreMigrations },
  { set: "the app's", schema: fixtureMigrations.schema, migrations: fixtureMigrations.migrations },
])('start-up against a database that lacks a migration of $set', ({ schema, migrations }) => {
  let ctx: TestContext;
  const newest = Object.keys(migrations).sort().at(-1)!;
  beforeAll(async () => {
    ctx = await createTestContext();
    // a database migrated by an older release: it has never heard of the newest migration
    await sql`delete from ${sql.table(`${schema}.kysely_migration`)} where name = ${newest}`.execute(ctx.db);
  });
  afterAll(() => ctx?.close());

  const expected = new RegExp(`${schema}/${newest}[\\s\\S]*npm run migrate`);

  it('a worker refuses to start, naming the missing migration and saying to run npm run migrate', async () => {
    await expect(startWorker(ctx.config, silent, { operations: ctx.app.operations, migrations: [fixtureMigrations] })).rejects.toThrow(
      expected,
    );
  });

  it('the API refuses to start with the same message', async () => {
    await expect(createApiDeps(ctx.config, silent, [fixtureMigrations])).rejects.toThrow(expected);
  });
});

describe('start-up without the app', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
    await sql`drop schema fixture cascade`.execute(ctx.db);
  });
  afterAll(() => ctx?.close());

  it("refuses when the app's migrations never ran at all, and starts when no app migrations are asked for", async () => {
    await expect(createApiDeps(ctx.config, silent, [fixtureMigrations])).rejects.toThrow(/fixture\/2026_12_08_001_fixture_items/);
    const { close } = await createApiDeps(ctx.config, silent, []);
    await close();
  });
});
