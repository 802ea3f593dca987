import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface KeysRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** when the process exited (Date.now()) */
  exitedAt: number;
}

/**
 * Runs the keys CLI (`npm run keys -- <args>`'s program, src/keys/keys-cli.ts) in a process of its
 * own against `databaseUrl`, as an operator would; on this test's Node directly, which spares every
 * call npm's own start-up (about a second here).
 */
export function runKeys(databaseUrl: string, args: readonly string[]): Promise<KeysRun> {
  const child = spawn(process.execPath, ['src/keys/keys-cli.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr, exitedAt: Date.now() })));
}

/** Creates a key with the CLI and returns its secret and prefix; throws with the CLI's output otherwise. */
export async function createKey(
  databaseUrl: string,
  tenant: string,
  scopes: readonly string[] = [],
): Promise<{ secret: string; prefix: string; exitedAt: number }> {
  const run = await runKeys(databaseUrl, ['create', '--tenant', tenant, ...scopes.flatMap((s) => ['--scope', s])]);
  const match = /^(sk_live_([0-9a-z]{12})_[0-9A-Za-z]{43})$/m.exec(run.stdout);
  if (run.code !== 0 || !match) throw new Error(`keys create exited ${run.code}: ${run.stderr}`);
  return { secret: match[1]!, prefix: match[2]!, exitedAt: run.exitedAt };
}
