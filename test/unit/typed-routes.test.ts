import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const routeFiles = [...filesUnder('src/http'), ...filesUnder('src/admin'), ...filesUnder('examples')];

describe('typed routes', () => {
  it('no file of src/http or src/admin imports app.ts: the dependency types live in http/api-deps.ts', () => {
    const importers = routeFiles
      .filter((file) => file.startsWith('src/'))
      .filter((file) => /\bfrom\s+['"][./]*\/app\.ts['"]/.test(readFileSync(join(ROOT, file), 'utf8')));
    expect(importers).toEqual([]);
  });

  it('no route casts its params, query or body: the TypeBox type provider types them from the schema', () => {
    const casts = routeFiles.flatMap((file) =>
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .flatMap((line, i) => (/request\.(params|query|body)\b[^;]*?\)?\s+as\s/.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(casts).toEqual([]);
  });
});
