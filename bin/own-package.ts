import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OwnPackage {
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/**
 * The root of the idemq package this command belongs to: the nearest folder above this file whose
 * package.json is idemq's. The same from the sources (bin/) and from a build (dist/bin/).
 */
export function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'idemq') return dir;
    if (dirname(dir) === dir)
      throw new Error("idemq's package.json was not found above the idemq command: the installation is damaged; install idemq again.");
  }
}

/** idemq's own package.json. */
export function ownPackage(): OwnPackage {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as OwnPackage;
}
