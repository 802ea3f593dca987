import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeRoutesFile } from '../helpers/forward-routes.ts';

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

  it.each([
    'src/main.ts',
    'workers/main.ts',
    'src/db/migrate.ts',
    'examples/ledger/api.ts',
    'examples/ledger/worker.ts',
    'examples/ledger/migrate.ts',
  ])('%s prints each problem once, no stack trace, and exits 1', async (entry) => {
    const { code, output } = await run(entry, env);
    expect(code, output).toBe(1);
    for (const name of ['API_KEYS', 'PORT', 'LOG_LEVEL']) expect(output.match(new RegExp(`${name}:`, 'g')), output).toHaveLength(1);
    expect(output).not.toMatch(/^\s+at /m);
    for (const problem of problems) expect(output.split(problem), output).toHaveLength(2);
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain('pattern');
  });
});

describe('a process started with an invalid forward routes file', () => {
  it.each(['src/main.ts', 'workers/main.ts', 'examples/ledger/api.ts', 'examples/ledger/worker.ts'])(
    "%s lists the file's problems with the others, once each, and exits 1",
    async (entry) => {
      const file = await writeRoutesFile([
        {
          name: 'payments.create',
          route: '/v1/orders',
          upstream: 'http://127.0.0.1:4000/orders',
          headers: { 'x-api-key': 'sk_upstream_do_not_print' },
        },
        { name: 'refunds.create', route: '/v1/payments', upstream: 'http://127.0.0.1:4000/refunds', timeoutMs: 'soon' },
      ]);
      try {
        const { code, output } = await run(entry, { PORT: 'abc', FORWARD_ROUTES_FILE: file.path });
        expect(code, output).toBe(1);
        for (const problem of [
          'PORT: must be an integer (got "abc")',
          `FORWARD_ROUTES_FILE (${file.path})[1] (refunds.create).timeoutMs: must be integer (got "soon")`,
        ]) {
          expect(output.split(problem), output).toHaveLength(2);
        }
        expect(output).not.toMatch(/^\s+at /m);
        expect(output).not.toContain('sk_upstream_do_not_print');
      } finally {
        await file.remove();
      }
    },
  );

  it.each(['examples/ledger/api.ts', 'examples/ledger/worker.ts'])(
    "%s refuses a route that takes the name or route of one of its app's operations",
    async (entry) => {
      const file = await writeRoutesFile([
        { name: 'payments.create', route: '/v1/orders', upstream: 'http://127.0.0.1:4000/orders' },
        { name: 'refunds.create', route: '/v1/accounts', upstream: 'http://127.0.0.1:4000/refunds' },
      ]);
      try {
        const { code, output } = await run(entry, { FORWARD_ROUTES_FILE: file.path });
        expect(code, output).toBe(1);
        for (const problem of [
          'FORWARD_ROUTES_FILE: payments.create: the name is already used by the operation payments.create; choose another name',
          'FORWARD_ROUTES_FILE: refunds.create: the route POST /v1/accounts is already used by the operation accounts.create; choose another route',
        ]) {
          expect(output.split(problem), output).toHaveLength(2);
        }
      } finally {
        await file.remove();
      }
    },
  );

  it('a file that is missing or not JSON is one problem saying what to do', async () => {
    const missing = await run('src/main.ts', { FORWARD_ROUTES_FILE: '/nonexistent/routes.json' });
    expect(missing.code).toBe(1);
    expect(missing.output).toContain(
      'FORWARD_ROUTES_FILE (/nonexistent/routes.json): cannot be read (no such file); set FORWARD_ROUTES_FILE to the path of a JSON file of routes, or leave it empty for none',
    );
    const file = await writeRoutesFile('[{"name": ');
    try {
      const broken = await run('src/main.ts', { FORWARD_ROUTES_FILE: file.path });
      expect(broken.code).toBe(1);
      expect(broken.output).toContain(`FORWARD_ROUTES_FILE (${file.path}): is not valid JSON`);
    } finally {
      await file.remove();
    }
  });
});
