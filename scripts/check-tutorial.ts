import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesOfBlocks } from '../test/helpers/markdown-blocks.ts';
import { linkScaffoldToRepository } from '../test/helpers/scaffold-links.ts';

// `npm run check:tutorial`: the code docs/tutorial.md has its reader write type-checks in the
// project `idemq init` makes (linked to this repository's sources, in a temporary directory outside
// it). The tutorial's test runs that code; this proves `tsc` accepts it too. Slower than a test (a
// type-check of the whole package through the link), so it runs beside `npm test`, not in it.
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const parent = mkdtempSync(join(tmpdir(), 'idemq-check-tutorial-'));
const dir = join(parent, 'my-app');

function run(what: string, args: string[], cwd: string): void {
  const result = spawnSync(process.execPath, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${what} failed (exit code ${result.status ?? result.signal})`);
}

let failed = false;
try {
  run('idemq init my-app', [join(ROOT, 'bin/idemq.ts'), 'init', 'my-app'], parent);
  linkScaffoldToRepository(dir);
  const files = filesOfBlocks(readFileSync(join(ROOT, 'docs/tutorial.md'), 'utf8'));
  if (files.length === 0) throw new Error('docs/tutorial.md has no `// path.ts` blocks');
  for (const { path, text } of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  run('tsc --noEmit on the tutorial', [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit'], dir);
  console.log(`the tutorial's ${files.length} files type-check: ${files.map((f) => f.path).join(', ')}`);
} catch (err) {
  console.error((err as Error).message);
  failed = true;
} finally {
  rmSync(parent, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
