import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../infra/free-port.ts';
import { startCommand, type CommandProcess } from '../helpers/command-process.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { parseDockerfile, type Stage, stageEnv } from '../helpers/dockerfile.ts';
import { deleteQueueKeys } from '../helpers/queue-keys.ts';
import { testRedisEnv } from '../helpers/redis-target.ts';
import { startUpstreamServer, type UpstreamServer } from '../helpers/upstream-server.ts';
import { waitUntil } from '../helpers/wait-until.ts';

// The image's file tree, built without Docker: each stage's COPY and RUN instructions replayed in a
// directory that stands for the stage's filesystem, then its CMD run there as the container would.
// `npm ci` is the one instruction not replayed (it needs the registry): the stage gets this
// repository's installed packages instead, a superset of what it installs.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_DIR = dirname(process.execPath);
const stages = parseDockerfile(join(ROOT, 'Dockerfile'));
const stage = (name: string): Stage => stages.find((s) => s.name === name)!;
const run = promisify(execFile);
// the operator's credentials: production strength, as the image's NODE_ENV demands
const SECRET = `sk_${randomBytes(16).toString('hex')}`;
const ADMIN_TOKEN = randomBytes(24).toString('hex');
const auth = { authorization: `Bearer ${SECRET}` };

/** Replays `name`'s instructions in a fresh root of its own (a copy of the stage it is built FROM); returns that root. */
async function buildStage(work: string, name: string, roots: Map<string, string>): Promise<string> {
  const { from, workdir, copies, runs } = stage(name);
  const root = join(work, name);
  if (roots.has(from)) cpSync(roots.get(from)!, root, { recursive: true, verbatimSymlinks: true });
  else mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
  const cwd = join(root, workdir);
  mkdirSync(cwd, { recursive: true });
  for (const copy of copies) {
    for (const source of copy.sources) {
      const origin = copy.from === undefined ? join(ROOT, source) : join(roots.get(copy.from)!, source);
      const isDir = statSync(origin).isDirectory();
      const target = join(cwd, copy.dest, copy.dest.endsWith('/') && !isDir ? basename(source) : '');
      mkdirSync(dirname(target), { recursive: true });
      cpSync(origin, target, { recursive: true });
    }
  }
  for (const command of runs) {
    if (/^npm ci\b/.test(command)) {
      symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'));
      continue;
    }
    // the container's absolute paths, inside this stage's root
    const local = command.replace(/(^|[\s=])\/(?=(app|src|usr|etc)\b)/g, `$1${root}/`);
    await run('bash', ['-c', local], { cwd, env: { PATH: `${NODE_DIR}:${process.env.PATH}` } });
  }
  roots.set(name, root);
  return root;
}

describe('the image (Dockerfile)', () => {
  it('builds the gateway by default: `idemq api` as a non-root user, routes read from /etc/idemq/routes.json', () => {
    const gateway = stages.at(-1)!;
    expect(gateway.name).toBe('gateway');
    expect(gateway.cmd).toEqual(['idemq', 'api']);
    expect(gateway.user).toBe('node');
    expect(stageEnv(stages, 'gateway')).toMatchObject({
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      FORWARD_ROUTES_FILE: '/etc/idemq/routes.json',
    });
    // the command on the PATH is the package's own `bin`
    const { bin } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(gateway.runs.join('\n')).toContain(`ln -s ${join(gateway.workdir, bin.idemq!)} /usr/local/bin/idemq`);
    // production dependencies only, at the lockfile's versions
    expect(stage(gateway.from).runs).toEqual([expect.stringMatching(/^npm ci --omit=dev /)]);
  });

  it('the ledger target runs the demo from its sources, without the gateway routes file', () => {
    const ledger = stage('ledger');
    expect(ledger.cmd).toEqual(['node', 'examples/ledger/api.ts']);
    expect(ledger.user).toBe('node');
    expect(ledger.copies.flatMap((c) => c.sources)).toEqual(expect.arrayContaining(['src', 'workers', 'examples/ledger']));
    expect(stageEnv(stages, 'ledger').FORWARD_ROUTES_FILE).toBeUndefined();
  });

  it('copies only files the build context has (.dockerignore leaves out none of them)', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.replace(/^\*\*\//, ''));
    const sources = stages.flatMap((s) => s.copies.filter((c) => c.from === undefined).flatMap((c) => c.sources));
    for (const source of sources) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      expect(
        ignored.filter((pattern) => source.split('/').includes(pattern)),
        source,
      ).toEqual([]);
    }
  });

  describe("the image's file trees, built without Docker", () => {
    let work: string;
    let gatewayRoot: string;
    let ledgerRoot: string;
    let ctx: TestContext;
    let upstream: UpstreamServer;
    const started: CommandProcess[] = [];

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'idemq-image-'));
      const roots = new Map<string, string>();
      for (const { name } of stages) await buildStage(work, name, roots);
      gatewayRoot = roots.get('gateway')!;
      ledgerRoot = roots.get('ledger')!;
      upstream = await startUpstreamServer();
      ctx = await createTestContext({}, { operations: [] });
    }, 120_000);
    afterAll(async () => {
      await Promise.all(started.map((p) => p.stop()));
      await ctx?.close();
      await upstream?.close();
      if (ctx) await deleteQueueKeys(ctx.config.queuePrefix);
      if (work) rmSync(work, { recursive: true, force: true });
    });

    /** `docker run <image> [command…]`: the image's environment, the operator's `-e`, in WORKDIR. */
    function dockerRun(command: string[] | undefined, env: Record<string, string>, target = 'gateway'): CommandProcess {
      const image = stage(target);
      const root = target === 'gateway' ? gatewayRoot : ledgerRoot;
      const imageEnv = stageEnv(stages, target);
      const p = startCommand(`exec ${(command ?? image.cmd!).join(' ')}`, {
        cwd: join(root, image.workdir),
        env: {
          ...imageEnv,
          ...(imageEnv.FORWARD_ROUTES_FILE && { FORWARD_ROUTES_FILE: join(root, imageEnv.FORWARD_ROUTES_FILE) }),
          PATH: `${root}/usr/local/bin:${NODE_DIR}:/usr/bin:/bin`,
          DATABASE_URL: ctx.config.databaseUrl,
          ...testRedisEnv(),
          QUEUE_PREFIX: ctx.config.queuePrefix,
          API_KEYS: `acme:${SECRET}`,
          ADMIN_TOKEN,
          ADMIN_PORT: '0',
          SHUTDOWN_DRAIN_MS: '0',
          ...env,
        },
      });
      started.push(p);
      return p;
    }

    it('runs without its routes file mounted only to say which path to mount', async () => {
      const api = dockerRun(undefined, { PORT: String(await freePort()) });
      expect(await api.exited, api.output()).toBe(1);
      expect(api.output()).toMatch(/FORWARD_ROUTES_FILE \(.*\/etc\/idemq\/routes\.json\): cannot be read \(no such file\)/);
    });

    it('runs `idemq migrate` and `idemq worker` by command, `idemq api` by default: a request forwarded to the mounted routes', async () => {
      // migrate needs no routes file (docker-compose.yml mounts none for it)
      const migrate = dockerRun(['idemq', 'migrate'], {});
      expect(await migrate.exited, migrate.output()).toBe(0);
      mkdirSync(join(gatewayRoot, 'etc/idemq'), { recursive: true });
      writeFileSync(
        join(gatewayRoot, 'etc/idemq/routes.json'),
        JSON.stringify([{ name: 'orders.create', route: '/v1/orders', upstream: `${upstream.url}/orders` }]),
      );

      const port = await freePort();
      const api = dockerRun(undefined, { PORT: String(port) });
      const worker = dockerRun(['idemq', 'worker'], {});
      const base = `http://127.0.0.1:${port}`;
      await waitUntil('the API to answer /readyz', async () => (await fetch(`${base}/readyz`)).ok, { timeoutMs: 20_000 }).catch(
        (err: Error) => {
          throw new Error(`${err.message}\napi (exit ${api.child.exitCode}):\n${api.output()}`);
        },
      );

      // the operator's keys guard the route: no key, no request
      const anonymous = await fetch(`${base}/v1/orders`, {
        method: 'POST',
        headers: { 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
        body: '{}',
      });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);

      const key = randomUUID();
      const submitted = await fetch(`${base}/v1/orders`, {
        method: 'POST',
        headers: { ...auth, 'idempotency-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ sku: 'tea', quantity: 1 }),
      });
      const accepted = (await submitted.json()) as { id: string };
      expect(submitted.status, JSON.stringify(accepted)).toBe(202);
      let last: unknown;
      const done = await waitUntil('the request to succeed', async () => {
        const res = await fetch(`${base}/v1/requests/${accepted.id}?wait=5`, { headers: auth });
        const body = (last = await res.json()) as { status: string; result?: { status: number } };
        return body.status === 'succeeded' && body;
      }).catch((err: Error) => {
        throw new Error(`${err.message}: last ${JSON.stringify(last)}\nworker:\n${worker.output()}\napi:\n${api.output().slice(-3000)}`);
      });
      expect(done.result?.status).toBe(201);
      expect(upstream.attempts.filter((a) => a.requestId === accepted.id)).toHaveLength(1);

      expect(await api.stop(), api.output()).toBe(0);
      expect(await worker.stop(), worker.output()).toBe(0);
    }, 60_000);

    it('runs the ledger demo from the ledger target by default', async () => {
      const port = await freePort();
      const api = dockerRun(undefined, { PORT: String(port) }, 'ledger');
      const base = `http://127.0.0.1:${port}`;
      await waitUntil('the ledger API to answer /readyz', async () => (await fetch(`${base}/readyz`)).ok, { timeoutMs: 20_000 }).catch(
        (err: Error) => {
          throw new Error(`${err.message}\nledger api (exit ${api.child.exitCode}):\n${api.output()}`);
        },
      );
      // the ledger's own route (which checks what it is given), and no gateway route
      const account = await fetch(`${base}/v1/accounts`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(account.status).toBe(400);
      expect(account.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((await fetch(`${base}/v1/orders`, { method: 'POST', headers: auth })).status).toBe(404);
      expect(await api.stop(), api.output()).toBe(0);
    });
  });
});
