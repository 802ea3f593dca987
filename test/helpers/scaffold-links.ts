import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Gives a project that `idemq init` wrote the packages it depends on without installing them:
 * node_modules/idemq is this repository's sources (a manifest whose entries name src/ and workers/,
 * not the build in dist/ that the published manifest names), the others this repository's installed
 * copies, and node_modules/.bin/idemq the command. A quick stand-in for `npm install` of the
 * published package, which the tarball check proves.
 */
export function linkScaffoldToRepository(dir: string): void {
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  const idemq = join(dir, 'node_modules', 'idemq');
  mkdirSync(idemq);
  writeFileSync(
    join(idemq, 'package.json'),
    JSON.stringify({ name: 'idemq', type: 'module', exports: { '.': './src/index.ts', './worker': './workers/index.ts' } }),
  );
  for (const folder of ['src', 'workers', 'bin']) symlinkSync(join(ROOT, folder), join(idemq, folder));
  for (const pkg of ['kysely', 'typebox', 'vitest', 'typescript', '@types/node'])
    symlinkSync(join(ROOT, 'node_modules', pkg), join(dir, 'node_modules', pkg));
  symlinkSync(join('..', 'idemq', 'bin', 'idemq.ts'), join(dir, 'node_modules', '.bin', 'idemq'));
}
