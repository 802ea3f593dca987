import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

// `npm run deps:check` (CI): every direct dependency has a row in docs/dependencies.md with the
// version package.json pins, and none is a major behind the registry's latest unless its row says
// why ("a major behind"). Exits non-zero, listing each problem, otherwise.
const run = promisify(execFile);
const root = new URL('..', import.meta.url);
type Manifest = { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; workspaces?: string[] };
const readManifest = (dir: string) => JSON.parse(readFileSync(new URL(`${dir}package.json`, root), 'utf8')) as Manifest;
const pkg = readManifest('');
// the workspaces' packages (the client SDK) are the project's direct dependencies too
const manifests = [pkg, ...(pkg.workspaces ?? []).map((dir) => readManifest(`${dir}/`))];
const pinned: Record<string, string> = Object.assign({}, ...manifests.flatMap((m) => [m.dependencies, m.devDependencies]));

/** Rows of the first Markdown table whose first cell is a `package` in backticks. */
const rows = new Map<string, { version: string; why: string }>();
for (const line of readFileSync(new URL('docs/dependencies.md', root), 'utf8').split('\n')) {
  const cells = line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
  const name = /^`([^`]+)`$/.exec(cells[0] ?? '')?.[1];
  if (name && cells.length >= 4) rows.set(name, { version: cells[1]!.replaceAll('`', ''), why: cells[2]! });
}

/** The major of a version in the semver sense: for 0.y.z, the minor is what breaks. */
function major(version: string): string {
  const [a, b] = version.split('.');
  return a === '0' ? `0.${b}` : a!;
}
/** Orders two release versions (no pre-release parts: dependencies are pinned to releases). */
function compare(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number)) as [number[], number[]];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

const problems: string[] = [];
const report: string[] = [];
await Promise.all(
  Object.entries(pinned).map(async ([name, version]) => {
    const row = rows.get(name);
    if (!row) return void problems.push(`${name}: no row in docs/dependencies.md`);
    if (row.version !== version) problems.push(`${name}: docs/dependencies.md says ${row.version}, package.json pins ${version}`);
    const { stdout } = await run('npm', ['view', `${name}@latest`, 'version'], { timeout: 60_000 });
    const latest = stdout.trim();
    const behind = major(latest) !== major(version) && compare(latest, version) > 0;
    report.push(`${name.padEnd(32)} ${version.padEnd(10)} latest ${latest.padEnd(10)}${behind ? ' a major behind' : ''}`);
    if (behind && !/a major behind/i.test(row.why))
      problems.push(`${name}: ${version} is a major behind ${latest}; update it, or say why in its row ("a major behind: …")`);
  }),
);
for (const name of rows.keys()) if (!(name in pinned)) problems.push(`${name}: listed in docs/dependencies.md but not a dependency`);
console.log(report.sort().join('\n'));
if (problems.length) {
  console.error(`\ndependency check failed:\n  - ${problems.join('\n  - ')}`);
  process.exitCode = 1;
} else console.log(`\n${Object.keys(pinned).length} dependencies: each documented, none a major behind without a reason`);
