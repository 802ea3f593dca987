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
});
