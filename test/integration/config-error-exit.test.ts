import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRET = 'tiny1';

/** Runs an entry point with a broken environment; resolves with everything it printed and its exit code. */
function run(entry: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [entry], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('a process started with an invalid configuration', () => {
  const env = { API_KEYS: `acme:sk_long_enough_secret,globex:${SECRET}`, PORT: 'abc', LOG_LEVEL: 'loud' };
  const problems = [
    'API_KEYS: each entry must be tenant:secret with a secret of at least 8 characters; got 2 entries, the 2nd has a 5-character secret',
    'PORT: must be an integer (got "abc")',
    'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
  ];

  it.each(['src/main.ts', 'workers/main.ts', 'src/db/migrate.ts', 'examples/ledger/api.ts', 'examples/ledger/worker.ts', 'examples/ledger/migrate.ts'])('%s prints each problem once, no stack trace, and exits 1', async (entry) => {
    const { code, output } = await run(entry, env);
    expect(code, output).toBe(1);
    for (const name of ['API_KEYS', 'PORT', 'LOG_LEVEL']) expect(output.match(new RegExp(`${name}:`, 'g')), output).toHaveLength(1);
    expect(output).not.toMatch(/^\s+at /m);
    for (const problem of problems) expect(output.split(problem), output).toHaveLength(2);
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain('pattern');
  });
});
