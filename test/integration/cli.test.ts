import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../bin/commands/index.ts';
import { USAGE as KEYS_USAGE } from '../../src/keys/keys-command.ts';
import { commandHelp, mainHelp } from '../../bin/help-text.ts';
import { parseInvocation, runCli } from '../../bin/run-cli.ts';
import { freePort } from '../infra/free-port.ts';
import { fixtureForwardRoute } from '../fixtures/app/forward-route.ts';
import { ADMIN_TOKEN, auth, createTestContext, TENANTS, type TestContext } from '../helpers/context.ts';
import { writeRoutesFile } from '../helpers/forward-routes.ts';
import { linkScaffoldToRepository } from '../helpers/scaffold-links.ts';
import { adminQuery, databaseUrl } from '../helpers/postgres.ts';
import { testRedisEnv } from '../helpers/redis-target.ts';
import { startUpstreamServer, type UpstreamServer } from '../helpers/upstream-server.ts';
import { waitUntil } from '../helpers/wait-until.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OWN_PACKAGE = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const IDEMQ = fileURLToPath(new URL('../../bin/idemq.ts', import.meta.url));

/**
 * `idemq <args>` as a user runs it, from the repository's root, with only `env` and PATH set;
 * `detached`: leading a process group of its own, as a shell's foreground job (for Ctrl-C).
 */
/** a project with openapi-typescript installed (the client's workspace), where client-types finds its generator */
const WITH_GENERATOR = join(ROOT, 'clients/typescript');

function idemq(args: string[], env: Record<string, string> = {}, opts: { detached?: boolean; cwd?: string } = {}) {
  const child: ChildProcess = spawn(process.execPath, [IDEMQ, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached === true,
  });
  const run = {
    child,
    output: '',
    stdout: '',
    exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (c: Buffer) => ((run.output += c.toString()), (run.stdout += c.toString())));
  child.stderr!.on('data', (c: Buffer) => (run.output += c.toString()));
  return run;
}

/** Captures what runCli prints. */
async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const flagsNamedIn = (text: string) => new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => m[1]!));

describe("idemq --help and each command's help", () => {
  it("lists every command, and each command's help says what it does, its flags, its environment and an example", async () => {
    const main = await cli(['--help']);
    expect(main.code).toBe(0);
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(['api', 'client-types', 'dev', 'init', 'keys', 'migrate', 'start', 'worker']);
    for (const command of COMMANDS) {
      expect(main.out).toMatch(new RegExp(`^ {2}${command.name} +\\S`, 'm'));
      const { code, out } = await cli([command.name, '--help']);
      expect(code, command.name).toBe(0);
      expect(out).toBe(commandHelp(command));
      expect(out).toContain(`Usage: idemq ${command.name}`);
      expect(command.description.length, command.name).toBeGreaterThan(40);
      for (const name of Object.keys(command.flags)) expect(out, `${command.name} --${name}`).toMatch(new RegExp(`--${name}\\b`));
      for (const [variable] of command.environment) expect(out).toContain(variable);
      expect(command.examples.length, command.name).toBeGreaterThan(0);
      for (const example of command.examples) expect(example).toMatch(new RegExp(`idemq ${command.name}\\b`));
      // every flag the help names, in its usage, description or examples, is one the command takes
      const named = flagsNamedIn(out);
      for (const flag of named) expect(Object.keys(command.flags), `${command.name}'s help names --${flag}`).toContain(flag);
    }
    expect((await cli(['help', 'start'])).out).toBe(commandHelp(COMMANDS.find((c) => c.name === 'start')!));
  });

  it('every documented flag is one the command line accepts', () => {
    for (const command of COMMANDS) {
      for (const [name, flag] of Object.entries(command.flags)) {
        if (command.ownParsing) {
          // keys parses its own: its usage names each flag it takes
          if (name !== 'help') expect(KEYS_USAGE).toContain(`--${name}`);
          continue;
        }
        const args = flag.type === 'string' ? [`--${name}`, 'x'] : [`--${name}`];
        expect(parseInvocation(command, args).values[name], `${command.name} --${name}`).toBeDefined();
        if (flag.short) expect(parseInvocation(command, [`-${flag.short}`]).values[name]).toBe(true);
      }
    }
    // and the main help's examples use only flags of the commands they call
    for (const line of mainHelp(COMMANDS)
      .split('\n')
      .filter((l) => /^\s+idemq \w/.test(l))) {
      for (const part of line.split('&&')) {
        const name = /idemq ([a-z-]+)/.exec(part)![1]!;
        const command = COMMANDS.find((c) => c.name === name)!;
        for (const flag of flagsNamedIn(part)) expect(Object.keys(command.flags)).toContain(flag);
      }
    }
  });

  it('refuses an unknown command or flag with what is wrong and the usage, exit code 2, as the real command', async () => {
    const unknown = idemq(['frobnicate']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output).toMatch(/^idemq: unknown command "frobnicate"\./);
    expect(unknown.output).toContain('Usage: idemq <command>');
    const flag = idemq(['start', '--rotues', 'x.json']);
    expect(await flag.exited).toBe(2);
    expect(flag.output).toMatch(/^idemq start: Unknown option '--rotues'/);
    expect(flag.output).toContain('Usage: idemq start [--app <module>]');
    expect((await cli(['migrate', 'extra'])).code).toBe(2);
    expect((await cli(['keys', 'frobnicate'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
    // a value that could be a secret is not printed back
    const secret = await cli([`sk_${randomBytes(16).toString('hex')}`]);
    expect(secret.code).toBe(2);
    expect(secret.err).not.toMatch(/sk_[0-9a-f]{32}/);
    const help = idemq(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.stdout).toBe(`${mainHelp(COMMANDS)}\n`);
  });

  it('idemq start checks the environment and the routes file once, before it starts any process', async () => {
    const routes = await writeRoutesFile([{ name: 'no-upstream', route: '/v1/x' }]);
    try {
      const run = idemq(['start', '--routes', routes.path], { PORT: 'abc' });
      expect(await run.exited).toBe(1);
      expect(run.output.match(/^ {2}- PORT: must be an integer/gm)).toHaveLength(1);
      expect(run.output.match(/^ {2}- FORWARD_ROUTES_FILE .*must have required properties? .*upstream/gm)).toHaveLength(1);
      expect(run.output).not.toMatch(/^\s+at /m);
    } finally {
      await routes.remove();
    }
  });

  it('says what is wrong with --app, exit code 1', async () => {
    const missing = await cli(['migrate', '--app', 'no/such/app.ts']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/--app no\/such\/app\.ts: no such file/);
    const notAnApp = await cli(['migrate', '--app', 'test/fixtures/app/forward-route.ts']);
    expect(notAnApp.code).toBe(1);
    expect(notAnApp.err).toMatch(/exports no app.*default export or as `app`/);
  });
});

// independent (a database and a queue prefix each), so they run at once
describe.concurrent('idemq start, migrate: real processes on the real Postgres and Redis', () => {
  let ctx: TestContext;
  let upstream: UpstreamServer;
  beforeAll(async () => {
    [ctx, upstream] = await Promise.all([createTestContext(), startUpstreamServer()]);
  });
  afterAll(async () => {
    await upstream?.close();
    await ctx?.close();
  });

  /** `idemq start …` (or `dev`) on `databaseUrl`, its own queue prefix, the API on a free port; resolves once it listens. */
  async function start(args: string[], database: string, command: 'start' | 'dev' = 'start') {
    const [port, adminPort] = await Promise.all([freePort(), freePort()]);
    const run = idemq(
      [command, ...args],
      {
        DATABASE_URL: database,
        ...testRedisEnv(),
        QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
        API_KEYS: `${TENANTS.acme.id}:${TENANTS.acme.secret}`,
        PORT: String(port),
        ADMIN_PORT: String(adminPort),
        ADMIN_TOKEN,
        SHUTDOWN_TIMEOUT_MS: '2000',
        LOG_LEVEL: 'warn',
      },
      { detached: true },
    );
    try {
      await waitUntil(
        `idemq ${command} to answer /readyz`,
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok,
        { timeoutMs: 30_000 },
      );
    } catch (err) {
      run.child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${run.output}`, { cause: err });
    }
    return { ...run, base: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${adminPort}` };
  }

  /** One request through HTTP, waiting for its outcome. */
  async function submit(url: string, body: unknown) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': randomBytes(8).toString('hex'), prefer: 'wait=10' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { status: string; result?: unknown } };
  }

  it('idemq start --routes: the API and a worker forward one request to the upstream, then stop on SIGTERM with exit code 0', async () => {
    const routes = await writeRoutesFile([fixtureForwardRoute(upstream.url)]);
    try {
      const run = await start(['--routes', routes.path], ctx.config.databaseUrl);
      try {
        const { status, body } = await submit(`${run.base}/v1/relayed-items`, { name: 'forwarded' });
        expect(status, JSON.stringify(body)).toBe(200);
        expect(body.status).toBe('succeeded');
        expect(upstream.attempts.map((a) => a.body)).toContainEqual({ name: 'forwarded' });
        // the running service's own types, from its admin server
        // run where openapi-typescript is installed, as in a user's project that generates client types
        const types = idemq(['client-types', '--url', run.admin], { ADMIN_TOKEN }, { cwd: WITH_GENERATOR });
        expect(await types.exited, types.output).toBe(0);
        expect(types.stdout).toMatch(/^export interface paths \{/m);
        expect(types.stdout).toContain('"/v1/relayed-items": {');
        const refused = idemq(
          ['client-types', '--url', run.admin],
          { ADMIN_TOKEN: 'adm_not_the_token_0123456789' },
          { cwd: WITH_GENERATOR },
        );
        expect(await refused.exited).toBe(1);
        expect(refused.output).toMatch(/refused the admin token/);
        expect(refused.output).not.toContain('adm_not_the_token');
      } finally {
        run.child.kill('SIGTERM');
      }
      expect(await run.exited, run.output).toBe(0);
    } finally {
      await routes.remove();
    }
  });

  it("idemq migrate --app creates and migrates a database, and idemq start --app runs the app's operation on it, then stops on Ctrl-C with exit code 0", async () => {
    const name = `idemq_test_cli_${randomBytes(5).toString('hex')}`;
    const database = databaseUrl(name, ctx.config.databaseUrl);
    try {
      const migrate = idemq(['migrate', '--app', 'test/fixtures/app/app.ts'], { DATABASE_URL: database });
      expect(await migrate.exited, migrate.output).toBe(0);
      expect(migrate.output).toContain('created the database');
      expect(migrate.output).toContain('fixture/2026_12_08_001_fixture_items');
      const run = await start(['--app', 'test/fixtures/app/app.ts'], database);
      try {
        const { status, body } = await submit(`${run.base}/v1/items`, { name: 'made by the CLI', quantity: 3 });
        expect(status, JSON.stringify(body)).toBe(200);
        expect(body).toMatchObject({ status: 'succeeded', result: { name: 'made by the CLI', quantity: 3, left: null } });
      } finally {
        // Ctrl-C: the terminal's SIGINT reaches the whole foreground group
        process.kill(-run.child.pid!, 'SIGINT');
      }
      expect(await run.exited, run.output).toBe(0);
      expect(run.output).not.toMatch(/"level":(50|60)/);
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  it('idemq dev says first what it runs against, migrates and starts, then stops on SIGTERM', async () => {
    const run = await start([], ctx.config.databaseUrl, 'dev');
    run.child.kill('SIGTERM');
    expect(await run.exited, run.output).toBe(0);
    expect(run.output.split('\n')[0]).toMatch(
      /^idemq dev: migrating, then starting the API and a worker against the configured Postgres \(DATABASE_URL\) and Redis \(REDIS_URL\)/,
    );
    expect(run.output).toContain('schema is up to date');
  });

  it('idemq keys creates a key that the list shows by its prefix, never its secret', async () => {
    const create = idemq(['keys', 'create', '--tenant', 'cli-tenant', '--scope', 'read'], { DATABASE_URL: ctx.config.databaseUrl });
    expect(await create.exited, create.output).toBe(0);
    const secret = create.stdout.trim();
    expect(secret).toMatch(/^sk_live_[a-z0-9]{12}_/);
    const list = idemq(['keys', 'list', '--tenant', 'cli-tenant', '--json'], { DATABASE_URL: ctx.config.databaseUrl });
    expect(await list.exited, list.output).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ tenant: 'cli-tenant', scopes: ['read'], prefix: secret.split('_')[2] }),
    ]);
    expect(list.output).not.toContain(secret);
  });

  it('idemq init writes a project outside the repository whose app idemq migrate and client-types load, and refuses a directory in use', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'idemq-init-'));
    try {
      const dir = join(parent, 'Shop Notes');
      const init = idemq(['init', dir]);
      expect(await init.exited, init.output).toBe(0);
      expect(init.output).toContain('Created shop-notes');
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      expect(pkg).toMatchObject({
        name: 'shop-notes',
        type: 'module',
        scripts: { test: 'vitest run', dev: 'idemq dev --app src/app.ts' },
        dependencies: {
          idemq: `^${OWN_PACKAGE.version}`,
          kysely: OWN_PACKAGE.dependencies.kysely,
          typebox: OWN_PACKAGE.dependencies.typebox,
        },
        devDependencies: { vitest: OWN_PACKAGE.devDependencies.vitest, node: OWN_PACKAGE.devDependencies.node },
      });
      for (const file of [
        'README.md',
        'routes.json',
        '.gitignore',
        'src/app.ts',
        'src/notes.create.ts',
        'src/migrations/index.ts',
        'test/notes.test.ts',
        'tsconfig.json',
      ]) {
        expect((await readFile(join(dir, file), 'utf8')).length, file).toBeGreaterThan(10);
      }
      // no placeholder is left, and the app keeps to a schema of its own
      const sources = await Promise.all(
        ['src/notes.create.ts', 'src/migrations/001_notes.ts', 'README.md', 'test/notes.test.ts'].map((f) =>
          readFile(join(dir, f), 'utf8'),
        ),
      );
      for (const text of sources) expect(text).not.toContain('{{');
      expect(sources[1]).toContain('create table shop_notes.notes');
      expect(JSON.parse(await readFile(join(dir, 'routes.json'), 'utf8'))[0]).toMatchObject({ route: '/v1/orders' });
      // the app imports `idemq` by its package name, as from an installed package: here the repository's sources
      linkScaffoldToRepository(dir);
      const migrate = idemq(['migrate', '--app', join(dir, 'src/app.ts')], { DATABASE_URL: ctx.config.databaseUrl });
      expect(await migrate.exited, migrate.output).toBe(0);
      expect(migrate.output).toContain('applied: shop_notes/001_notes');
      // the types of the app's own API, its result typed from the operation's output schema
      const types = idemq(
        ['client-types', '--app', join(dir, 'src/app.ts'), '--out', join(dir, 'api-types.ts')],
        { DATABASE_URL: ctx.config.databaseUrl, ...testRedisEnv(), QUEUE_PREFIX: ctx.config.queuePrefix },
        { cwd: WITH_GENERATOR },
      );
      expect(await types.exited, types.output).toBe(0);
      const written = await readFile(join(dir, 'api-types.ts'), 'utf8');
      expect(written).toContain('"/v1/notes": {');
      expect(written).toMatch(/noteId: string;\s+text: string;/);
      // a directory in use is left alone
      await writeFile(join(parent, 'notes.txt'), 'mine');
      const refused = idemq(['init', parent]);
      expect(await refused.exited).toBe(1);
      expect(refused.output).toMatch(/is not empty/);
      expect(await readFile(join(parent, 'notes.txt'), 'utf8')).toBe('mine');
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
