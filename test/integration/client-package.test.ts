import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentText, generateTypes } from '../../clients/typescript/scripts/generate-types.ts';
import { adminAuth, type TestContext } from '../helpers/context.ts';
// the client's types are generated from the ledger's OpenAPI document, so its tests run on the ledger
import { createLedgerContext } from '../../examples/ledger/test/ledger-seed.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT = join(ROOT, 'clients/typescript');
const generated = (name: string) => readFileSync(join(CLIENT, 'src/generated', name), 'utf8');

describe('the client package', () => {
  let ctx: TestContext;
  let served: object;
  beforeAll(async () => {
    ctx = await createLedgerContext();
    const app = await ctx.startApi();
    served = (await (await ctx.startAdmin(app)).inject({ url: '/docs/json', headers: adminAuth })).json();
  });
  afterAll(() => ctx?.close());

  it('has the OpenAPI document the service serves checked in (else: npm run client:types)', () => {
    expect(generated('openapi.json')).toBe(documentText(served));
  });

  it('has the types openapi-typescript generates from that document checked in (else: npm run client:types)', async () => {
    const types = await generateTypes(served);
    expect(types).toContain('"/v1/payments"');
    expect(generated('api-types.ts')).toBe(types);
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
