import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiDeps } from '../../src/deps.ts';
import { migrations } from '../../src/db/migrations/index.ts';
import { startWorker } from '../../workers/start-worker.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';

describe('start-up against a database that lacks a migration', () => {
  let ctx: TestContext;
  const newest = Object.keys(migrations).sort().at(-1)!;
  beforeAll(async () => {
    ctx = await createTestContext();
    // a database migrated by an older release: it has never heard of the newest migration
    await sql`delete from kysely_migration where name = ${newest}`.execute(ctx.db);
  });
  afterAll(() => ctx?.close());

  const expected = new RegExp(`${newest}[\\s\\S]*npm run migrate`);

  it('a worker refuses to start, naming the missing migration and saying to run npm run migrate', async () => {
    await expect(startWorker(ctx.config, pino({ level: 'silent' }))).rejects.toThrow(expected);
  });

  it('the API refuses to start with the same message', async () => {
    await expect(createApiDeps(ctx.config, pino({ level: 'silent' }))).rejects.toThrow(expected);
  });
});
