import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { documentText, generateTypes, generator } from '../../clients/typescript/scripts/generate-types.ts';
import { writeClientTypes } from '../../src/client-types/write-client-types.ts';
import { CHECKED_IN_TYPES } from '../../scripts/client-types/checked-in.ts';
import { ADMIN_TOKEN, adminAuth, createTestContext } from '../helpers/context.ts';
import { testRedisEnv } from '../helpers/redis-target.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT = join(ROOT, 'clients/typescript');

describe('the client package', () => {
  // each checked-in types file against the document its app's API serves (the core's, the ledger's, the fixture's)
  it.each(CHECKED_IN_TYPES.map((t) => [t.out, t] as const))('has %s as generated from the served document (else: npm run client:types)', async (_, { app, out, document }) => {
    const ctx = await createTestContext({}, app);
    try {
      const api = await ctx.startApi();
      const served = (await (await ctx.startAdmin(api)).inject({ url: '/docs/json', headers: adminAuth })).json() as object;
      if (document) expect(readFileSync(join(ROOT, document), 'utf8')).toBe(documentText(served));
      expect(readFileSync(join(ROOT, out), 'utf8')).toBe(await generateTypes(served));
    } finally {
      await ctx.close();
    }
  });

  it('has no route of any app in the core\'s types, which the client\'s own types come from', () => {
    const core = readFileSync(join(CLIENT, 'src/generated/core-types.ts'), 'utf8');
    expect(core).toContain('"/v1/requests/{id}"');
    expect(core).not.toMatch(/"\/v1\/(payments|accounts|items)"/);
  });

  it('client-types --app builds an app module\'s document in-process, with the database and Redis of the environment', async () => {
    const ctx = await createTestContext();
    const out = mkdtempSync(join(tmpdir(), 'idemq-client-types-'));
    try {
      const env = { DATABASE_URL: ctx.config.databaseUrl, ...testRedisEnv(), QUEUE_PREFIX: ctx.config.queuePrefix, ADMIN_TOKEN };
      // a module of the user's project that exports its app as the default
      const fixtureApp = join(out, 'app.ts');
      writeFileSync(fixtureApp, `export { fixture as default } from ${JSON.stringify(join(ROOT, 'test/fixtures/app/app.ts'))};\n`);
      await writeClientTypes({ app: fixtureApp, env, cwd: ROOT, out: join(out, 'paths.ts'), generator, command: 'npm run client:types' });
      expect(readFileSync(join(out, 'paths.ts'), 'utf8')).toBe(readFileSync(join(ROOT, 'test/fixtures/app/client-paths.ts'), 'utf8'));
      // a module that exports no app is named, with what it must export
      await expect(writeClientTypes({ app: 'test/fixtures/app/items.routes.ts', env, cwd: ROOT, out: join(out, 'x.ts'), generator })).rejects.toThrow(/items\.routes\.ts exports no app: export an IdemqApp/);
      await expect(writeClientTypes({ app: fixtureApp, url: 'http://127.0.0.1:1', cwd: ROOT, out: join(out, 'x.ts'), generator })).rejects.toThrow(/either --url .* or --app/);
      // a project without openapi-typescript is told how to get it
      await expect(writeClientTypes({ url: 'http://127.0.0.1:1', cwd: out, out: 'x.ts' })).rejects.toThrow(/npm install --save-dev openapi-typescript@7 typescript@5/);
    } finally {
      rmSync(out, { recursive: true, force: true });
      await ctx.close();
    }
  });

  it('builds to JavaScript with declarations, which loads in Node without TypeScript and imports nothing but itself', async () => {
    const out = mkdtempSync(join(tmpdir(), 'idemq-client-'));
    try {
      await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', CLIENT, '--outDir', out], { cwd: ROOT });
      const files = readdirSync(out);
      expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'client.js', 'client.d.ts']));
      for (const file of files.filter((f) => f.endsWith('.js'))) {
        const imports = [...readFileSync(join(out, file), 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
        for (const specifier of imports) expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\.?\/.*\.js$/);
      }
      // plain Node, no type stripping of a .ts: the built package as a consumer loads it
      const { stdout } = await run(process.execPath, [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(out, 'index.js'))}); console.log(typeof m.createClient, new m.IdempotencyKeyReused({ type: 't', title: 'x', status: 422 }) instanceof m.ProblemError);`,
      ]);
      expect(stdout.trim()).toBe('function true');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
