import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generator } from '../../clients/typescript/scripts/generate-types.ts';
import { writeClientTypes } from '../../src/client-types/write-client-types.ts';
import { blockUnder } from '../helpers/markdown-blocks.ts';
import { ADMIN_TOKEN, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT = join(ROOT, 'clients/typescript');
const README = readFileSync(join(CLIENT, 'README.md'), 'utf8');

/** The first fenced block of `lang` after `heading` in the client's README, exactly as a reader copies it. */
const snippet = (heading: string, lang: string) => blockUnder(README, "the client's README", heading, lang);

/** tsc over `files` in `dir` as a strict consumer compiles them, with the Node types of the repository. */
function typecheck(dir: string, files: string[]) {
  const args = [
    '--noEmit',
    '--strict',
    '--target',
    'es2024',
    '--module',
    'nodenext',
    '--allowImportingTsExtensions',
    '--types',
    'node',
    '--typeRoots',
    join(ROOT, 'node_modules/@types'),
    ...files,
  ];
  return run(join(ROOT, 'node_modules/.bin/tsc'), args, { cwd: dir }).then(
    () => ({ code: 0, output: '' }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }),
  );
}

// The quick start as a user runs it: the package from its tarball, in a project outside the
// repository, with its service's types written by client-types from the admin port, against an
// app that is not the ledger (the neutral fixture, items.create on /v1/items).
describe('the client README quick start, run as written', () => {
  let ctx: TestContext;
  let api: FastifyInstance;
  let base: string;
  let adminBase: string;
  let project: string;
  beforeAll(async () => {
    ctx = await createTestContext();
    api = await ctx.startApi();
    base = await api.listen({ port: 0, host: '127.0.0.1' });
    adminBase = await (await ctx.startAdmin(api)).listen({ port: 0, host: '127.0.0.1' });
    await ctx.startWorker();
    project = mkdtempSync(join(tmpdir(), 'idemq-client-quickstart-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'quickstart', private: true, type: 'module' }));
  });
  afterAll(async () => {
    await ctx?.close();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('npm pack makes a tarball of JavaScript and declarations only, which installs as @idemq/client', async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: CLIENT });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts', 'dist/client.d.ts']),
    );
    for (const file of files)
      expect(file, 'no sources, tests, scripts or maps in the tarball').toMatch(
        /^(package\.json|README\.md|CHANGELOG\.md|dist\/.+\.(js|d\.ts))$/,
      );
    const into = join(project, 'node_modules/@idemq/client');
    mkdirSync(into, { recursive: true });
    await run('tar', ['xzf', join(project, packed!.filename), '-C', into, '--strip-components=1']);
    const manifest = JSON.parse(readFileSync(join(into, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: '@idemq/client', exports: { '.': { types: './dist/index.d.ts' } } });
    expect(manifest.private).toBeUndefined();
    expect(manifest.dependencies).toBeUndefined();
  });

  it("client-types --url writes the service's own paths from its admin port, as the repository checks them in", async () => {
    await expect(
      writeClientTypes({ url: adminBase, adminToken: 'adm_wrong_0123456789', out: 'refused.ts', cwd: project, generator }),
    ).rejects.toThrow(/refused the admin token \(401\)/);
    // the API's port instead of the admin port: said so
    await expect(writeClientTypes({ url: base, adminToken: ADMIN_TOKEN, out: 'api.ts', cwd: project, generator })).rejects.toThrow(
      /answered 40\d: give the admin server's address/,
    );
    const { types } = await writeClientTypes({
      url: adminBase,
      env: { ADMIN_TOKEN },
      out: 'idemq-paths.ts',
      cwd: project,
      generator,
      command: 'npm run client:types',
    });
    expect(types).toBe(readFileSync(join(ROOT, 'test/fixtures/app/client-paths.ts'), 'utf8'));
  });

  it("the quick start type-checks against the tarball's declarations; a route or body the service lacks does not", async () => {
    const code = snippet('## Quick start', 'ts');
    writeFileSync(join(project, 'quickstart.ts'), code);
    writeFileSync(
      join(project, 'wrong-route.ts'),
      code.replace("idemq.run('/v1/items', { name: 'bolts'", "idemq.run('/v1/payments', { name: 'bolts'"),
    );
    writeFileSync(join(project, 'wrong-body.ts'), code.replace('quantity: 10 }', "quantity: '10' }"));
    // one compiler run for the three: each file's errors are its own
    const { code: exit, output } = await typecheck(project, ['quickstart.ts', 'wrong-route.ts', 'wrong-body.ts']);
    expect(exit).not.toBe(0);
    expect(output).not.toContain('quickstart.ts');
    expect(output).toMatch(/wrong-route\.ts.*'"\/v1\/payments"' is not assignable/);
    expect(output).toMatch(/wrong-body\.ts.*'string' is not assignable to type 'number'/);
  });

  it('runs against a real API and worker: the item made, the refusal as an outcome, the two-step submit', async () => {
    const { stdout, stderr } = await run(process.execPath, ['quickstart.ts'], {
      cwd: project,
      env: { ...process.env, IDEMQ_URL: base, IDEMQ_KEY: TENANTS.acme.secret },
      timeout: 20_000,
    });
    const lines = stdout.trim().split('\n');
    expect(lines, stderr).toHaveLength(3);
    expect(lines[0]).toMatch(/^made [0-9a-f-]{36} 10$/);
    expect(lines[1]).toBe('failed insufficient_quantity');
    expect(lines[2]).toBe('succeeded nuts false');
    const itemId = lines[0]!.split(' ')[1]!;
    const item = await api.inject({ url: `/v1/items/${itemId}`, headers: { authorization: `Bearer ${TENANTS.acme.secret}` } });
    expect(item.json()).toMatchObject({ id: itemId, name: 'bolts', quantity: 10 });
  });
});
