import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/chaos/private-services.ts';
import { ADMIN_TOKEN, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The Procfile's process types and their commands, as Procfile runners read it. */
function procfile(): Record<string, string> {
  const lines = readFileSync(new URL('Procfile', `file://${ROOT}`), 'utf8').split('\n');
  const matches = lines.map((line) => /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line.trim())).filter((m) => m !== null);
  return Object.fromEntries(matches.map((m) => [m[1]!, m[2]!]));
}

/** Local addresses of the TCP sockets listening on `port` (Linux /proc, hex as the kernel writes it). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // state 0A: LISTEN
      .filter((cols) => cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A')
      .map((cols) => cols[1]!.split(':')[0]!),
  );
}

describe('Procfile', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx?.close());

  it('declares release, web and worker, the web process binding every interface', () => {
    const processes = procfile();
    expect(Object.keys(processes).sort()).toEqual(['release', 'web', 'worker']);
    expect(processes.web).toMatch(/(^|\s)HOST=(0\.0\.0\.0|::)\s/);
    expect(processes.web).toMatch(/node examples\/ledger\/api\.ts$/);
  });

  /** Runs the web command as a Procfile runner does: `node` on PATH, PORT and the app's settings from the platform. */
  function runWeb(env: Record<string, string>) {
    const child = spawn('bash', ['-c', procfile().web!], {
      cwd: ROOT,
      // `node` on PATH is the project's Node.js, as on a platform that installs it from `engines`
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, SHUTDOWN_DRAIN_MS: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = { output: '', exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))) };
    child.stdout.on('data', (c: Buffer) => (result.output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (result.output += c.toString()));
    return Object.assign(result, { child });
  }

  it('runs the web command as a Procfile runner does: PORT from the platform, listening on all interfaces', async () => {
    const port = await freePort();
    const { config } = ctx;
    const web = runWeb({
      PORT: String(port),
      DATABASE_URL: config.databaseUrl,
      REDIS_URL: config.redisUrl,
      QUEUE_PREFIX: config.queuePrefix,
      ADMIN_PORT: '0',
      // the platform's settings: credentials of the app's own, the public demo ones being refused on 0.0.0.0
      API_KEYS: `${TENANTS.acme.id}:${TENANTS.acme.secret}`,
      ADMIN_TOKEN,
    });
    try {
      // probed on loopback only; the socket's own address says which interfaces it accepts on
      await waitUntil('the web process to answer /healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok);
      expect(listeners(port), web.output).toEqual(expect.arrayContaining([expect.stringMatching(/^0+$/)]));
      web.child.kill('SIGTERM');
      expect(await web.exited, web.output).toBe(0);
    } finally {
      if (web.child.exitCode === null && web.child.signalCode === null) web.child.kill('SIGKILL');
    }
  });

  it('refuses to serve the public demo credentials on all interfaces when the platform sets none, saying what to set', async () => {
    const { config } = ctx;
    const web = runWeb({
      PORT: String(await freePort()),
      DATABASE_URL: config.databaseUrl,
      REDIS_URL: config.redisUrl,
      QUEUE_PREFIX: config.queuePrefix,
      ADMIN_PORT: '0',
    });
    try {
      expect(await web.exited, web.output).toBe(1);
      expect(web.output).toMatch(
        /^ {2}- API_KEYS: the public demo secret .* refused while a server listens beyond loopback \(HOST=0\.0\.0\.0\)/m,
      );
      expect(web.output).toMatch(/^ {2}- ADMIN_TOKEN: the public demo token .* refused/m);
      expect(web.output).not.toMatch(/^\s+at /m);
    } finally {
      if (web.child.exitCode === null && web.child.signalCode === null) web.child.kill('SIGKILL');
    }
  });
});
