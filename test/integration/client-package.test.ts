import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { documentText, generateTypes, generator } from '../../clients/typescript/scripts/generate-types.ts';
import { writeClientTypes } from '../../src/client-types/write-client-types.ts';
import { CHECKED_IN_TYPES } from '../../scripts/client-types/checked-in.ts';
import { ADMIN_TOKEN, adminAuth, createTestContext } from '../helpers/context.ts';
import { testRedisEnv } from '../helpers/redis-target.ts';
import { writeRoutesFile } from '../helpers/forward-routes.ts';
import { fixtureForwardRoute } from '../fixtures/app/forward-route.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT = join(ROOT, 'clients/typescript');

describe('the client package', () => {
  // each checked-in types file against the document its app's API serves (the core's, the ledger's, the fixture's)
  it.each(CHECKED_IN_TYPES.map((t) => [t.out, t] as const))(
    'has %s as generated from the served document (else: npm run client:types)',
    async (_, { app, out, document }) => {
      const ctx = await createTestContext({}, app);
      try {
        const api = await ctx.startApi();
        const served = (await (await ctx.startAdmin(api)).inject({ url: '/docs/json', headers: adminAuth })).json() as object;
        if (document) expect(readFileSync(join(ROOT, document), 'utf8')).toBe(documentText(served));
        expect(readFileSync(join(ROOT, out), 'utf8')).toBe(await generateTypes(served));
      } finally {
        await ctx.close();
      }
    },
  );

  it("has no route of any app in the core's types, which the client's own types come from", () => {
    const core = readFileSync(join(CLIENT, 'src/generated/core-types.ts'), 'utf8');
    expect(core).toContain('"/v1/requests/{id}"');
    expect(core).not.toMatch(/"\/v1\/(payments|accounts|items)"/);
  });

  it("client-types --app builds an app module's document in-process, with the database and Redis of the environment", async () => {
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
      await expect(
        writeClientTypes({ app: 'test/fixtures/app/items.routes.ts', env, cwd: ROOT, out: join(out, 'x.ts'), generator }),
      ).rejects.toThrow(/items\.routes\.ts exports no app: export an IdemqApp/);
      await expect(
        writeClientTypes({ app: fixtureApp, url: 'http://127.0.0.1:1', cwd: ROOT, out: join(out, 'x.ts'), generator }),
      ).rejects.toThrow(/either --url .* or --app/);
      // a project without openapi-typescript is told how to get it
      await expect(writeClientTypes({ url: 'http://127.0.0.1:1', cwd: out, out: 'x.ts' })).rejects.toThrow(
        /npm install --save-dev openapi-typescript@7 typescript@5/,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
      await ctx.close();
    }
  });

  it('client-types of a gateway: no app, the forward routes of FORWARD_ROUTES_FILE, each a submit route taking any JSON', async () => {
    const ctx = await createTestContext();
    const routes = await writeRoutesFile([fixtureForwardRoute('http://127.0.0.1:9')]);
    const out = mkdtempSync(join(tmpdir(), 'idemq-client-types-'));
    try {
      const env = {
        DATABASE_URL: ctx.config.databaseUrl,
        ...testRedisEnv(),
        QUEUE_PREFIX: ctx.config.queuePrefix,
        FORWARD_ROUTES_FILE: routes.path,
      };
      const { document } = await writeClientTypes({ env, cwd: out, out: 'gateway-paths.ts', generator });
      expect(Object.keys(document.paths as object)).toContain('/v1/relayed-items');
      expect(Object.keys(document.paths as object)).not.toContain('/v1/items');
      const types = readFileSync(join(out, 'gateway-paths.ts'), 'utf8');
      expect(types).toMatch(/"\/v1\/relayed-items": \{[\s\S]*?requestBody: \{\s*content: \{\s*"application\/json": unknown;/);
    } finally {
      rmSync(out, { recursive: true, force: true });
      await routes.remove();
      await ctx.close();
    }
  });

  it('client-types --url takes a document as data: an answer that is not one is refused, a hostile one writes no code', async () => {
    const hostile = {
      openapi: '3.1.0',
      info: { title: 'hostile', version: '1' },
      paths: {
        '/v1/x"; } export const routeKey = 1; //': {
          post: {
            summary: 'a */ export const summary = 1; /*',
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    description: '*/ export const schema = 1; /*',
                    properties: { '"]: 1; export const prop = 1; //': { type: 'string' } },
                  },
                },
              },
            },
            responses: { 200: { description: 'ok */ export const response = 1; /*' } },
          },
        },
      },
    };
    let answer = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>a login page</html>');
    const server = createServer((req, res) => answer(res)).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const out = mkdtempSync(join(tmpdir(), 'idemq-client-types-'));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(writeClientTypes({ url, adminToken: ADMIN_TOKEN, cwd: out, out: 'x.ts', generator })).rejects.toThrow(
        /did not answer with an OpenAPI document/,
      );
      answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(hostile));
      await writeClientTypes({ url, adminToken: ADMIN_TOKEN, cwd: out, out: 'x.ts', generator });
      const types = readFileSync(join(out, 'x.ts'), 'utf8');
      expect(types).toContain('export const summary');
      // every text of the document stays inside a string or a comment: the only declarations are the generated types'
      expect(types.match(/^export .*$/gm)).toEqual([
        'export interface paths {',
        'export type webhooks = Record<string, never>;',
        'export interface components {',
        'export type $defs = Record<string, never>;',
        'export type operations = Record<string, never>;',
      ]);
      expect(types).not.toMatch(/^\s*export const/m);
    } finally {
      server.close();
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('builds to JavaScript with declarations, which loads in Node without TypeScript and imports nothing but itself', async () => {
    const out = mkdtempSync(join(tmpdir(), 'idemq-client-'));
    try {
      await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', CLIENT, '--outDir', out], { cwd: ROOT });
      const files = readdirSync(out);
      expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'client.js', 'client.d.ts']));
      for (const file of files.filter((f) => f.endsWith('.js'))) {
        const imports = [...readFileSync(join(out, file), 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map(
          (m) => m[1],
        );
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
