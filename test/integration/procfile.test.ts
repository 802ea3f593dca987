import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../bin/commands/index.ts';
import { freePort } from '../infra/free-port.ts';
import { startCommand } from '../helpers/command-process.ts';
import { ADMIN_TOKEN, auth, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { writeRoutesFile } from '../helpers/forward-routes.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { testRedisEnv } from '../helpers/redis-target.ts';
import { startUpstreamServer } from '../helpers/upstream-server.ts';
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
  afterAll(async () => {
    await ctx?.close();
    if (ctx) await deleteQueueKeys(ctx.config.queuePrefix);
  });

  it('declares release, web and worker as the idemq command (migrate, api, worker), the web process binding every interface', () => {
    const processes = procfile();
    expect(Object.keys(processes).sort()).toEqual(['release', 'web', 'worker']);
    expect(processes.web).toMatch(/(^|\s)HOST=(0\.0\.0\.0|::)\s/);
    const subcommand = (type: string) => /^(?:HOST=\S+\s+)?node bin\/idemq\.ts (\S+)$/.exec(processes[type]!)?.[1];
    expect({ release: subcommand('release'), web: subcommand('web'), worker: subcommand('worker') }).toEqual({
      release: 'migrate',
      web: 'api',
      worker: 'worker',
    });
    expect(COMMANDS.map((c) => c.name)).toEqual(expect.arrayContaining(['migrate', 'api', 'worker']));
  });

  /** Runs a process type as a Procfile runner does: `node` on PATH, PORT and the app's settings from the platform. */
  function runProcess(type: string, env: Record<string, string>) {
    // `node` on PATH is the project's Node.js, as on a platform that installs it from `engines`
    return startCommand(procfile()[type]!, {
      cwd: ROOT,
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, SHUTDOWN_DRAIN_MS: '0', ...env },
    });
  }
  const runWeb = (env: Record<string, string>) => runProcess('web', env);

  it('runs release, web and worker as a Procfile runner does: PORT and the routes file from the platform, a request forwarded', async () => {
    const { config } = ctx;
    const upstream = await startUpstreamServer();
    const routes = await writeRoutesFile([{ name: 'orders.create', route: '/v1/orders', upstream: `${upstream.url}/orders` }]);
    const port = await freePort();
    // the platform's settings: credentials of the app's own, the public demo ones being refused on 0.0.0.0
    const settings = {
      DATABASE_URL: config.databaseUrl,
      ...testRedisEnv(),
      QUEUE_PREFIX: config.queuePrefix,
      FORWARD_ROUTES_FILE: routes.path,
      API_KEYS: `${TENANTS.acme.id}:${TENANTS.acme.secret}`,
      ADMIN_TOKEN,
    };
    const release = runProcess('release', settings);
    expect(await release.exited, release.output()).toBe(0);
    const web = runWeb({ ...settings, PORT: String(port), ADMIN_PORT: '0' });
    const worker = runProcess('worker', settings);
    try {
      // probed on loopback only; the socket's own address says which interfaces it accepts on
      const base = `http://127.0.0.1:${port}`;
      await waitUntil('the web process to answer /healthz', async () => (await fetch(`${base}/healthz`)).ok).catch((err: Error) => {
        throw new Error(`${err.message}\n${web.output()}`);
      });
      expect(listeners(port), web.output()).toEqual(expect.arrayContaining([expect.stringMatching(/^0+$/)]));

      const submitted = await fetch(`${base}/v1/orders`, {
        method: 'POST',
        headers: { ...auth('acme'), 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
        body: JSON.stringify({ sku: 'tea', quantity: 1 }),
      });
      const { id } = (await submitted.json()) as { id: string };
      expect(submitted.status).toBe(202);
      await waitUntil('the worker process to complete the request', async () => {
        const res = await fetch(`${base}/v1/requests/${id}?wait=5`, { headers: auth('acme') });
        return ((await res.json()) as { status: string }).status === 'succeeded';
      }).catch((err: Error) => {
        throw new Error(`${err.message}\n${worker.output()}`);
      });
      expect(upstream.attempts.filter((a) => a.requestId === id)).toHaveLength(1);

      expect(await web.stop(), web.output()).toBe(0);
      expect(await worker.stop(), worker.output()).toBe(0);
    } finally {
      await Promise.all([web.stop(), worker.stop()]);
      await upstream.close();
      await routes.remove();
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
      expect(await web.exited, web.output()).toBe(1);
      expect(web.output()).toMatch(
        /^ {2}- API_KEYS: the public demo secret .* refused while a server listens beyond loopback \(HOST=0\.0\.0\.0\)/m,
      );
      expect(web.output()).toMatch(/^ {2}- ADMIN_TOKEN: the public demo token .* refused/m);
      expect(web.output()).not.toMatch(/^\s+at /m);
    } finally {
      await web.stop();
    }
  });
});
