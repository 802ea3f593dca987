import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every module specifier a file names: static and type imports, re-exports, dynamic import(). */
export function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const re of [/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g]) {
    for (const m of source.matchAll(re)) found.push(m[1]!);
  }
  return found;
}

/** The repository path a relative specifier of `file` resolves to; undefined for a package. */
function target(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return relative(ROOT, resolve(ROOT, dirname(file), specifier));
}

/** `file: specifier` for each import that crosses the boundary. */
export function violations(files: readonly string[], read: (file: string) => string = (f) => readFileSync(join(ROOT, f), 'utf8')): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const specifier of importSpecifiers(read(file))) {
      const to = target(file, specifier);
      if (to === undefined) continue;
      const inCore = file.startsWith('src/') || file.startsWith('workers/');
      // the core knows no app
      if (inCore && to.startsWith('examples/')) out.push(`${file}: ${specifier}`);
      // an app knows the core only through its public entry
      if (file.startsWith('examples/') && (to.startsWith('src/') || to.startsWith('workers/')) && to !== 'src/index.ts') out.push(`${file}: ${specifier}`);
    }
  }
  return out;
}

/**
 * Test files that run a shipped example on purpose, each with the reason; every other file of test/
 * runs on the neutral fixture app (test/fixtures/app) and imports nothing of examples/.
 */
export const RUN_EXAMPLES: Record<string, string> = {
  'test/helpers/global-setup.ts': "the migrated template holds every example app's tables, for the examples' own tests",
  'test/integration/client-outcome.test.ts': "the client's types are generated from the ledger's OpenAPI document",
  'test/integration/client-package.test.ts': "the client's types are generated from the ledger's OpenAPI document",
  'test/integration/client-retry.test.ts': "the client's types are generated from the ledger's OpenAPI document",
  'test/integration/client-submit.test.ts': "the client's types are generated from the ledger's OpenAPI document",
  'test/integration/legacy-layout.test.ts': "an upgrade from the releases that kept the core's and the ledger's tables in public",
  'test/integration/readme-snippets.test.ts': "the README's walk-through is the ledger demo's",
};

/** `file: specifier` for each import of examples/ by a file of test/ that RUN_EXAMPLES does not name. */
export function testImportsOfExamples(files: readonly string[], read: (file: string) => string = (f) => readFileSync(join(ROOT, f), 'utf8')): string[] {
  const out: string[] = [];
  for (const file of files) {
    if (!file.startsWith('test/') || file in RUN_EXAMPLES) continue;
    for (const specifier of importSpecifiers(read(file))) {
      if (target(file, specifier)?.startsWith('examples/')) out.push(`${file}: ${specifier}`);
    }
  }
  return out;
}

describe('the boundary between the core and the apps on it', () => {
  it('no file of src/ or workers/ imports from examples/, and examples/ import the core only through src/index.ts', () => {
    const files = [...filesUnder('src'), ...filesUnder('workers'), ...filesUnder('examples')];
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => f.startsWith('examples/')).length).toBeGreaterThan(10);
    expect(violations(files)).toEqual([]);
  });

  it('catches each kind of crossing import, however it is written', () => {
    const sources: Record<string, string> = {
      'src/http/x.ts': "import { ledger } from '../../examples/ledger/app.ts';",
      'workers/x.ts': "export { createOrder } from '../examples/orders/orders.create.ts';",
      'examples/orders/x.ts': "import type { Database } from '../../src/db/database.ts';",
      'examples/orders/y.ts': "const m = await import('../../workers/start-worker.ts');",
      'examples/orders/z.ts': "import {\n  defineOperation,\n} from '../../src/index.ts';\nimport Type from 'typebox';\nimport { createOrder } from './orders.create.ts';",
    };
    expect(violations(Object.keys(sources), (f) => sources[f]!)).toEqual([
      'src/http/x.ts: ../../examples/ledger/app.ts',
      'workers/x.ts: ../examples/orders/orders.create.ts',
      'examples/orders/x.ts: ../../src/db/database.ts',
      'examples/orders/y.ts: ../../workers/start-worker.ts',
    ]);
  });

  it("no file of test/ imports examples/: the core's tests run on the fixture app, except the ones that run an example on purpose", () => {
    // this file names examples/ in the sources of its cases, not in imports of its own
    const self = relative(ROOT, fileURLToPath(import.meta.url));
    const files = filesUnder('test').filter((f) => f !== self);
    expect(files.length).toBeGreaterThan(80);
    expect(testImportsOfExamples(files)).toEqual([]);
    // an allowance for a file that no longer exists, or no longer imports an example, is stale
    for (const file of Object.keys(RUN_EXAMPLES)) expect(importSpecifiers(readFileSync(join(ROOT, file), 'utf8')).some((s) => target(file, s)?.startsWith('examples/')), file).toBe(true);
  });

  it("catches a core test that imports an example, however it is written, and lets an example's own tests be", () => {
    const sources: Record<string, string> = {
      'test/integration/x.test.ts': "import { ledger } from '../../examples/ledger/app.ts';",
      'test/helpers/y.ts': "const { orders } = await import('../../examples/orders/app.ts');",
      'test/integration/z.test.ts': "import { fixture } from '../fixtures/app/app.ts';",
      'test/integration/readme-snippets.test.ts': "import { createLedgerContext } from '../../examples/ledger/test/ledger-seed.ts';",
      'examples/ledger/test/w.test.ts': "import { createTestContext } from '../../../test/helpers/context.ts';\nimport { ledger } from '../app.ts';",
    };
    expect(testImportsOfExamples(Object.keys(sources), (f) => sources[f]!)).toEqual([
      'test/integration/x.test.ts: ../../examples/ledger/app.ts',
      'test/helpers/y.ts: ../../examples/orders/app.ts',
    ]);
  });
});
