import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownPackage } from './own-package.ts';

/** The templates, files beside this module: in the sources, and copied beside it by a build. */
const templatesDir = () => fileURLToPath(new URL('./templates/app/', import.meta.url));

export interface ScaffoldOptions {
  /** the project's npm name; by default the directory's name, made valid */
  name?: string;
  /** what its package.json names for idemq: by default `^<this version>` (a tarball's path works too) */
  idemqSpec?: string;
}

/** An npm package name from a directory's name: lowercase, letters, digits, "-", "." and "_". */
export function packageNameOf(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
    .slice(0, 100);
  return name || 'idemq-app';
}

/** The app's Postgres schema from its name: a plain identifier, never idemq's own. */
export function schemaNameOf(name: string): string {
  const schema = name
    .replace(/^@[^/]+\//, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);
  if (schema === '' || schema === 'idemq' || schema === 'public' || /^pg_/.test(schema)) return `app_${schema || 'main'}`;
  return /^[0-9]/.test(schema) ? `app_${schema}` : schema;
}

function templateFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.template'))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Where a template lands: its path without `.template`; `gitignore` becomes `.gitignore` (npm packs no .gitignore). */
const targetOf = (template: string) => template.replace(/\.template$/, '').replace(/^gitignore$/, '.gitignore');

/**
 * Writes a new project into `dir` (created if missing; refused if it holds anything): a
 * package.json depending on idemq and on the versions of kysely and typebox idemq is built with,
 * one operation with its table and migration, a test that runs it through the real service, an
 * example routes file and a README. Returns the files written, relative to `dir`.
 */
export function scaffoldProject(dir: string, opts: ScaffoldOptions = {}): { name: string; schema: string; files: string[] } {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} is not empty: give a new directory, or an empty one.`);
  const own = ownPackage();
  const templates = templatesDir();
  const name = opts.name ?? packageNameOf(dir);
  const schema = schemaNameOf(name);
  const fill = (text: string) => text.replaceAll('{{name}}', name).replaceAll('{{schema}}', schema);
  const files: string[] = [];
  for (const template of templateFiles(templates)) {
    const target = join(dir, targetOf(template));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, fill(readFileSync(join(templates, template), 'utf8')));
    files.push(targetOf(template));
  }
  const versionOf = (pkg: string) => own.dependencies?.[pkg] ?? own.devDependencies?.[pkg] ?? 'latest';
  const packageJson = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    engines: { node: '>=26' },
    scripts: {
      dev: 'idemq dev --app src/app.ts',
      migrate: 'idemq migrate --app src/app.ts',
      start: 'idemq start --app src/app.ts',
      test: 'vitest run',
      typecheck: 'tsc --noEmit',
    },
    dependencies: { idemq: opts.idemqSpec ?? `^${own.version}`, kysely: versionOf('kysely'), typebox: versionOf('typebox') },
    // `node`: Node.js 26, which runs TypeScript as it is, installed into the project for its scripts
    devDependencies: {
      '@types/node': versionOf('@types/node'),
      node: versionOf('node'),
      typescript: versionOf('typescript'),
      vitest: versionOf('vitest'),
    },
    allowScripts: { node: true },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  files.push('package.json');
  return { name, schema, files: files.sort() };
}
