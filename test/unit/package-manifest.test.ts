import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What `npm run package:check` proves from the tarball, kept true here without a build: the
// manifest points at what the build emits, and a consumer's install brings all the code imports.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
type Manifest = {
  name: string;
  version: string;
  private?: boolean;
  types?: string;
  bin?: Record<string, string>;
  files: string[];
  engines?: { node?: string };
  exports: Record<string, string | { types: string; default: string }>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const pkg = JSON.parse(read('package.json')) as Manifest;
const build = JSON.parse(read('tsconfig.build.json')) as { include: string[]; compilerOptions: { outDir: string; rootDir: string } };

/** The source a `./dist/…` path is emitted from (`.js` and `.d.ts` from one `.ts`), if the build includes it. */
function sourceOf(target: string): string | undefined {
  const m = /^\.\/dist\/(.+?)(\.d\.ts|\.js)$/.exec(target);
  if (!m) return undefined;
  const source = `${m[1]}.ts`;
  return build.include.some((dir) => source.startsWith(`${dir}/`)) && existsSync(join(ROOT, source)) ? source : undefined;
}

/** Bare package names a source file imports or re-exports, with whether every such import is type-only. */
function bareImports(text: string): Map<string, boolean> {
  const found = new Map<string, boolean>();
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+'([^'.][^']*)'/gm)) {
    const spec = m[2]!;
    if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
    found.set(name, (found.get(name) ?? true) && m[1] !== undefined);
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('the package manifest', () => {
  it('is publishable: no private flag, a version with its CHANGELOG entry, engines, prepack builds', () => {
    expect(pkg.private).toBeUndefined();
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(read('CHANGELOG.md')).toContain(`## ${pkg.version} - `);
    expect(pkg.engines?.node).toMatch(/^>=\d+\.\d+\.\d+$/);
    expect(pkg.scripts.prepack).toBe('npm run build');
    expect(build.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: '.' });
  });

  it('exports `idemq` and `idemq/worker` from what the build emits of src/index.ts and workers/index.ts', () => {
    expect(pkg.exports['.']).toEqual({ types: './dist/src/index.d.ts', default: './dist/src/index.js' });
    expect(pkg.exports['./worker']).toEqual({ types: './dist/workers/index.d.ts', default: './dist/workers/index.js' });
    const targets = [pkg.types!, ...Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [] : [t.types, t.default]))];
    expect(targets.filter((t) => sourceOf(t) === undefined)).toEqual([]);
  });

  it('ships the build and the changelog, never sources, tests, examples, bench or scripts', () => {
    expect(pkg.files).toEqual(expect.arrayContaining(['dist/', 'CHANGELOG.md']));
    expect(pkg.files.filter((f) => /^(src|workers|test|examples|bench|scripts|clients|docs|deploy)(\/|$)/.test(f))).toEqual([]);
    expect(build.include.filter((dir) => ['test', 'examples', 'bench', 'scripts'].includes(dir))).toEqual([]);
  });

  it('runs its commands (bin) from the build, never from TypeScript sources', () => {
    // Node.js strips no types under node_modules: a bin pointing at a .ts file fails once installed
    const bins = Object.values(pkg.bin ?? {});
    expect(bins.filter((target) => !target.endsWith('.js') || sourceOf(target) === undefined)).toEqual([]);
  });

  it('lists every package the built code imports in dependencies, with types for those that lack their own', () => {
    const imports = new Map<string, boolean>();
    for (const file of build.include.flatMap(sourceFiles)) {
      for (const [name, typeOnly] of bareImports(readFileSync(file, 'utf8'))) imports.set(name, (imports.get(name) ?? true) && typeOnly);
    }
    expect(imports.size).toBeGreaterThan(10);
    // declarations anywhere in the package (beside its JavaScript, or named by its manifest)
    const hasOwnTypes = (name: string) =>
      readdirSync(join(ROOT, 'node_modules', name), { recursive: true, withFileTypes: true }).some(
        (e) => e.isFile() && /\.d\.[cm]?ts$/.test(e.name) && !e.parentPath.includes('node_modules', ROOT.length + 'node_modules'.length),
      );
    const typesOf = (name: string) => `@types/${name.replace(/^@/, '').replace('/', '__')}`;
    const problems = [...imports].flatMap(([name, typeOnly]) => {
      // a type-only import needs only types; a value import needs the package itself
      if (!typeOnly && !(name in pkg.dependencies)) return [`${name} is imported but not in dependencies`];
      if (existsSync(join(ROOT, 'node_modules', name, 'package.json')) && hasOwnTypes(name)) return [];
      return typesOf(name) in pkg.dependencies ? [] : [`${name} has no types of its own and ${typesOf(name)} is not in dependencies`];
    });
    expect(problems).toEqual([]);
  });

  it("imports nothing outside the build's folders (the compiler would pull it into dist/ without its dependencies)", () => {
    const outside = build.include.flatMap(sourceFiles).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/(?:\sfrom\s+|import\()\s*'(\.\.?\/[^']+)'/g)]
        .map((m) => relative(ROOT, resolve(dirname(file), m[1]!)))
        .filter((target) => !build.include.some((dir) => target.startsWith(`${dir}/`)))
        .map((target) => `${relative(ROOT, file)} imports ${target}`),
    );
    expect(outside).toEqual([]);
  });

  it('finds no module by its .ts name at run time (in dist/ it is .js): only imports are rewritten', () => {
    const byName = build.include
      .flatMap(sourceFiles)
      .flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/new URL\(\s*['`](\.\.?\/[^'`]*\.ts)['`]/g)].map((m) => `${relative(ROOT, file)}: ${m[1]}`),
      );
    expect(byName).toEqual([]);
  });

  it('finds value and type-only imports, multi-line ones too, and leaves out relative and built-in modules', () => {
    const found = bareImports(
      "import { a,\n  b } from 'kysely';\nimport type { X } from 'ws';\nimport { y } from './y.ts';\nimport { z } from 'node:fs';\nexport { q } from '@scope/pkg/sub';\n",
    );
    expect([...found]).toEqual([
      ['kysely', false],
      ['ws', true],
      ['@scope/pkg', false],
    ]);
  });
});
