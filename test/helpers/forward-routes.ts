import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes a routes file (FORWARD_ROUTES_FILE) to a fresh temporary path; `remove` deletes it. */
export async function writeRoutesFile(routes: unknown): Promise<{ path: string; remove(): Promise<void> }> {
  const path = join(tmpdir(), `idemq-routes-${randomBytes(6).toString('hex')}.json`);
  await writeFile(path, typeof routes === 'string' ? routes : JSON.stringify(routes));
  return { path, remove: () => rm(path, { force: true }) };
}
