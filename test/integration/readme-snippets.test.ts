import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../infra/free-port.ts';
import { blockUnder } from '../helpers/markdown-blocks.ts';
import { ADMIN_TOKEN, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { writeRoutesFile } from '../helpers/forward-routes.ts';
import { countRequests } from '../helpers/submit.ts';
import { testRedisEnv } from '../helpers/redis-target.ts';
import { parseForwardRoutes } from '../../src/operations/forward/forward-route.ts';
// the walk-through (docs/walkthrough.md) is the ledger demo's, so its snippets run on the ledger
import { createLedgerContext } from '../../examples/ledger/test/ledger-seed.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WALKTHROUGH = 'docs/walkthrough.md';
/** The first fenced block of `lang` after `heading` in `page` (README.md or a page of docs/), exactly as a reader copies it. */
const snippet = (page: string, heading: string, lang: string) =>
  blockUnder(readFileSync(new URL(page, `file://${ROOT}`), 'utf8'), page, heading, lang);

/** Runs a command with BASE set; resolves with its output (stdout and stderr) and exit code. */
function run(
  command: string,
  args: string[],
  base: string,
  stdin?: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, BASE: base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  child.stdin.end(stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

describe('the walk-through and admin snippets of the docs, run as written', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    // the demo key, as a fresh clone has it
    ctx = await createLedgerContext({ API_KEYS: `demo:sk_demo_change_me,acme:${TENANTS.acme.secret}` });
    app = await ctx.startApi();
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    await ctx.startWorker();
  });
  afterAll(() => ctx?.close());

  it('the curl walk-through shows the 422, the replay header, a succeeded payment and balances 7500 and 2500', async () => {
    const { code, output } = await run('bash', ['-c', snippet(WALKTHROUGH, '## Walk-through with curl', 'bash')], base);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^HTTP\/1\.1 202 Accepted/m);
    expect(output).toMatch(/^HTTP\/1\.1 422 /m);
    expect(output).toContain('idempotency-key-reused');
    expect(output).toMatch(/^Idempotent-Replayed: true\r?$/im);
    expect(output).toMatch(/"status": "succeeded"/);
    expect(output.trim().split('\n').slice(-2)).toEqual(['7500', '2500']);

    // as the page says: run again, every key is replayed and nothing moves
    const again = await run('bash', ['-c', snippet(WALKTHROUGH, '## Walk-through with curl', 'bash')], base);
    expect(again.output.trim().split('\n').slice(-2), again.output).toEqual(['7500', '2500']);
  });

  it("the admin port's curl lines show the backlog and the walk-through's payment with its history", async () => {
    const admin = await (await ctx.startAdmin(app)).listen({ port: 0, host: '127.0.0.1' });
    const { code, output } = await run('bash', ['-c', snippet('docs/admin.md', '## The admin port', 'bash')], base, undefined, {
      ADMIN: admin,
      ADMIN_TOKEN,
    });
    expect(code, output).toBe(0);
    expect(output).toMatch(/^idemq_backlog\{kind="unfinished_requests"\} \d+$/m);
    expect(output).toMatch(/"status": "succeeded"/);
    expect(output).toMatch(/"status": "processing"/);
  });

  it('the WebSocket example prints the outcome and exits', async () => {
    const { code, output } = await run(
      'npm',
      ['exec', '--', 'node', '--input-type=module'],
      base,
      snippet(WALKTHROUGH, '### Awaiting the outcome over WebSocket', 'js'),
    );
    expect(code, output).toBe(0);
    expect(output).toMatch(/^succeeded .*"amount":100/m);
  });

  it("the TypeScript client's quick start pays 25.00 through the built package and exits", async () => {
    // as the page says: the workspace is linked by npm ci, and built by client:build
    const build = await run('npm', ['run', 'client:build'], base);
    expect(build.code, build.output).toBe(0);
    const { code, output } = await run(
      'npm',
      ['exec', '--', 'node', '--input-type=module'],
      base,
      snippet(WALKTHROUGH, '## The TypeScript client', 'js'),
    );
    expect(code, output).toBe(0);
    expect(output.trim().split('\n').at(-1)).toBe('succeeded 7500 2500');
  });

  // the machine's own `node` when it is older than 22 (as a reader's may be), else the project's without its WebSocket
  it('on a Node without WebSocket the WebSocket example and the client quick start stop before they send anything, saying how to run them', async () => {
    const system = await run('/usr/bin/node', ['--version'], base).catch(() => undefined);
    const old = system?.code === 0 && Number(/^v(\d+)/.exec(system.output)?.[1]) < 22;
    const node = old ? (['/usr/bin/node', []] as const) : (['npm', ['exec', '--', 'node', '--no-experimental-websocket']] as const);
    const build = await run('npm', ['run', 'client:build'], base);
    expect(build.code, build.output).toBe(0);
    const before = await countRequests(ctx);
    for (const [heading, file] of [
      ['### Awaiting the outcome over WebSocket', 'await-payment.mjs'],
      ['## The TypeScript client', 'pay.mjs'],
    ] as const) {
      const { code, output } = await run(node[0], [...node[1], '--input-type=module'], base, snippet(WALKTHROUGH, heading, 'js'));
      expect(code, output).toBe(1);
      expect(output).toContain(`needs a built-in WebSocket: Node.js 22 or later`);
      expect(output).toContain(`npx node ${file}`);
    }
    expect(await countRequests(ctx)).toBe(before);
  });

  it('the WebSocket example ends with an error instead of hanging when the API cannot be reached', async () => {
    const { code, output } = await run(
      'npm',
      ['exec', '--', 'node', '--input-type=module'],
      `http://127.0.0.1:${await freePort()}`,
      snippet(WALKTHROUGH, '### Awaiting the outcome over WebSocket', 'js'),
    );
    expect(code, output).not.toBe(0);
    expect(output).toMatch(/fetch failed|ECONNREFUSED/);
  });
});

describe("the forward-route walk-through and the README's gateway quick start, against examples/upstream", () => {
  const heading = '### Walk-through: an orders service behind idemq';
  let ctx: TestContext;
  let base: string;
  let upstreamUrl: string;
  let upstream: ReturnType<typeof spawn>;
  let routesFile: Awaited<ReturnType<typeof writeRoutesFile>>;
  beforeAll(async () => {
    const port = await freePort();
    upstream = spawn(process.execPath, ['examples/upstream/server.ts', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      upstream.stdout!.on('data', (c: Buffer) => c.toString().includes('listening') && resolve());
      upstream.once('exit', (code) => reject(new Error(`the example upstream exited (${code})`)));
    });
    upstreamUrl = `http://127.0.0.1:${port}`;
    // the shipped routes file, pointed at the port this test's upstream took
    const routes = JSON.parse(readFileSync(new URL('examples/upstream/routes.json', `file://${ROOT}`), 'utf8'));
    routesFile = await writeRoutesFile(
      routes.map((r: { upstream: string }) => ({ ...r, upstream: r.upstream.replace('http://127.0.0.1:4000', upstreamUrl) })),
    );
    ctx = await createTestContext({ API_KEYS: 'demo:sk_demo_change_me', FORWARD_ROUTES_FILE: routesFile.path });
    const app = await ctx.startApi();
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    await ctx.startWorker();
  });
  afterAll(async () => {
    await ctx?.close();
    upstream?.kill('SIGTERM');
    await routesFile?.remove();
  });

  it('the routes file in the README and in docs/gateway.md is the one shipped in examples/upstream, and it is valid', () => {
    const shipped = JSON.parse(readFileSync(new URL('examples/upstream/routes.json', `file://${ROOT}`), 'utf8'));
    expect(JSON.parse(snippet('docs/gateway.md', '## Put idemq in front of your service', 'json'))).toEqual(shipped);
    expect(JSON.parse(snippet('README.md', '## A gateway in one minute', 'json'))).toEqual(shipped);
    expect(parseForwardRoutes(shipped, 'routes.json').problems).toEqual([]);
  });

  it("places one order, replays it, shows the upstream's refusal, and the upstream holds one order", async () => {
    const env = { UPSTREAM: upstreamUrl };
    const { code, output } = await run('bash', ['-c', snippet('docs/gateway.md', heading, 'bash')], base, undefined, env);
    expect(code, output).toBe(0);
    expect(output).toMatch(/"status": "succeeded"/);
    expect(output).toMatch(/"sku": "tea"/);
    expect(output).toMatch(/^Idempotent-Replayed: true\r?$/im);
    expect(output).toMatch(/"code": "upstream_rejected"/);
    expect(output).toMatch(/"status": 422/);
    expect(output.trim().split('\n').at(-1)).toBe('1');

    const again = await run('bash', ['-c', snippet('docs/gateway.md', heading, 'bash')], base, undefined, env);
    expect(again.output.trim().split('\n').at(-1), again.output).toBe('1');
  });

  it("the README's one-minute quick start, run as written: migrate, start --routes, its curl block; Ctrl-C stops it", async () => {
    // `npx idemq` is this repository's command; routes.json the shipped file, pointed at this test's upstream
    const commands = snippet('README.md', 'Then create the database', '')
      .split('\n')
      .map((line) =>
        line
          .replace(/^npx idemq /, '')
          .replace('routes.json', routesFile.path)
          .split(' '),
      );
    expect(commands.map((c) => c[0])).toEqual(['migrate', 'start']);
    const port = await freePort();
    const env = {
      PATH: process.env.PATH!,
      DATABASE_URL: ctx.config.databaseUrl,
      // a prefix of its own: the test context's budgets (far larger than the defaults) count under its prefix
      QUEUE_PREFIX: `${ctx.config.queuePrefix}-quick`,
      ...testRedisEnv(),
      PORT: String(port),
      ADMIN_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    const idemq = (args: string[]) =>
      spawn(process.execPath, [fileURLToPath(new URL('bin/idemq.ts', `file://${ROOT}`)), ...args], { cwd: ROOT, env, stdio: 'inherit' });
    const migrate = idemq(commands[0]!);
    expect(await new Promise((resolve) => migrate.once('exit', resolve))).toBe(0);
    const start = idemq(commands[1]!);
    const stopped = new Promise((resolve) => start.once('exit', resolve));
    try {
      const own = `http://127.0.0.1:${port}`;
      for (let ready = false; !ready; await new Promise((r) => setTimeout(r, 100))) {
        expect(start.exitCode, 'idemq start exited').toBeNull();
        ready = (await fetch(`${own}/readyz`).catch(() => undefined))?.ok ?? false;
      }
      const { code, output } = await run('bash', ['-c', snippet('README.md', '## A gateway in one minute', 'bash')], own);
      expect(code, output).toBe(0);
      expect(output).toMatch(/"status": "succeeded"/);
      expect(output).toMatch(/"sku": "tea"/);
      expect(output).toMatch(/^Idempotent-Replayed: true\r?$/im);
      const held = (await (await fetch(`${upstreamUrl}/orders`)).json()) as unknown[];
      expect(held).toHaveLength(1);
    } finally {
      start.kill('SIGINT');
    }
    expect(await stopped).toBe(0);
  });
});
