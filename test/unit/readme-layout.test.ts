import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// folders that are installed or built, never committed (.gitignore), so the map does not name them
const UNTRACKED = new Set(['node_modules', 'dist', 'coverage']);

/**
 * The paths the layout map (docs/architecture.md, "Layout") names, resolved against their parents by indentation:
 * `src/` then `  http/` is `src/http/`. Continuation lines (no name at their indentation) are skipped.
 */
export function layoutPaths(readme: string): string[] {
  const block = /## Layout\n[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) return [];
  const stack: { indent: number; path: string }[] = [];
  const paths: string[] = [];
  for (const line of block.split('\n')) {
    const m = /^( *)([\w.@-]+(?:\/[\w.@-]+)*\/?)(?: |$)/.exec(line);
    // a name is a folder (`x/`) or a file with an extension
    if (!m || !(m[2]!.endsWith('/') || /\.\w+$/.test(m[2]!))) continue;
    const indent = m[1]!.length;
    // a continuation of the description above, indented past every name
    if (indent > 8) continue;
    while (stack.length > 0 && stack.at(-1)!.indent >= indent) stack.pop();
    const path = (stack.at(-1)?.path ?? '') + m[2]!;
    paths.push(path);
    if (path.endsWith('/')) stack.push({ indent, path });
  }
  return paths;
}

describe('the layout map of docs/architecture.md', () => {
  const paths = layoutPaths(readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8'));

  it('names only paths that exist', () => {
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it('names every folder of the core and every top-level folder of the project', () => {
    const folders = (dir: string) =>
      readdirSync(join(ROOT, dir), { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !UNTRACKED.has(e.name))
        .map((e) => `${dir}${e.name}/`);
    const named = new Set(paths);
    const missing = [...folders('src/'), ...folders('examples/'), ...folders('test/'), ...folders('')].filter(
      (f) => !named.has(f) && ![...named].some((p) => p.startsWith(f)),
    );
    expect(missing).toEqual([]);
  });

  it('resolves nested names against their parents and catches a path that is gone', () => {
    const readme =
      '## Layout\n\n```\nsrc/     core\n  http/  routes\n    gone.ts  x\n  app.ts  the app\n                       a continuation line.ts\nworkers/  wing\n```\n';
    expect(layoutPaths(readme)).toEqual(['src/', 'src/http/', 'src/http/gone.ts', 'src/app.ts', 'workers/']);
    expect(layoutPaths(readme).filter((p) => !existsSync(join(ROOT, p)))).toEqual(['src/http/gone.ts']);
  });
});
