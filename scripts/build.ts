/**
 * `npm run build` (and `prepack`): compiles the package's sources (tsconfig.build.json: src/ and
 * workers/) to JavaScript with declarations in dist/, then copies beside them every file of those
 * folders the compiler does not emit (the request console's page and script), so code that loads an
 * asset relative to its own module (`new URL('./console/…', import.meta.url)`) finds it in dist/ too.
 * dist/ is emptied first: a module removed from the sources must not stay in the package.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CONFIG = join(ROOT, 'tsconfig.build.json');
const OUT = join(ROOT, 'dist');

const { include } = JSON.parse(readFileSync(CONFIG, 'utf8')) as { include: string[] };
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

rmSync(OUT, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', CONFIG], { cwd: ROOT, stdio: 'inherit' });

let assets = 0;
for (const folder of include) {
  for (const entry of readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
    const from = join(entry.parentPath, entry.name);
    const to = join(OUT, from.slice(ROOT.length));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    assets++;
  }
}
console.log(`built dist/ from ${include.join(', ')} (${assets} asset file${assets === 1 ? '' : 's'} copied)`);
