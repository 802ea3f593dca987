/**
 * `npm run package:check` (CI; outside `npm test`, since it installs from the registry): proves the
 * package `idemq` as a user gets it. It packs the tarball (`prepack` builds dist/), installs it into
 * a fresh project in a temporary directory outside this repository (no workspace link, no path
 * import), type-checks and compiles there a small app written as a user would
 * (scripts/package-check/consumer/: one operation, its table and migration, importing `idemq` and
 * `idemq/worker`) with the TypeScript 5 compiler, migrates a fresh database, starts the app's API
 * and worker with a forward route to an upstream this script serves, completes one request of each
 * kind through HTTP, and stops both processes with SIGTERM. When the package has its `idemq`
 * command (package.json `bin`), it does the same through `idemq start --app … --routes …`, then
 * scaffolds a project with `idemq init` and runs its `npm install && npm test`. One line per step;
 * exits 1 on the first failure, after removing its processes, databases, queue keys and (on
 * success) temporary directories.
 *
 * TEST_DATABASE_URL (a server where the user may create databases) and TEST_REDIS_URL, as for
 * `npm test`; PACKAGE_CHECK_NODE: the Node.js binary the installed app runs on (default: this one).
 */
import { randomBytes } from 'node:crypto';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import { freePort } from '../test/infra/free-port.ts';
import { run, startProcess, type Started, startUpstream, waitFor } from './package-check/processes.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const NODE = process.env.PACKAGE_CHECK_NODE ?? process.execPath;

const id = randomBytes(4).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'idemq-package-check-'));
const project = join(work, 'my-notes');
const database = `idemq_package_check_${id}`;
const databaseUrl = Object.assign(new URL(ADMIN_DATABASE_URL), { pathname: `/${database}` }).href;
const queuePrefix = `package_check_${id}`;
const secret = `sk_check_${randomBytes(24).toString('hex')}`;
const adminToken = randomBytes(24).toString('hex');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
const cleanups: (() => unknown)[] = [];
const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });

async function step(title: string, fn: () => Promise<string | void> | string | void): Promise<void> {
  const started = performance.now();
  try {
    const detail = await fn();
    console.log(`ok    ${title}${detail ? `: ${detail}` : ''} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } catch (err) {
    console.log(`FAIL  ${title}: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
}

async function main(): Promise<void> {
  let tarball = '';
  await step('npm pack (prepack builds dist/)', async () => {
    const packDir = join(work, 'pack');
    mkdirSync(packDir);
    // stdout: the build's own lines, then the JSON
    const out = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT, stdoutOnly: true });
    const [packed] = JSON.parse(out.slice(out.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path);
    const required = [
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/workers/index.js',
      'dist/workers/index.d.ts',
      'dist/src/admin/console/index.html',
      'dist/src/admin/console/console.js',
    ];
    const missing = required.filter((f) => !files.includes(f));
    const unwanted = files.filter(
      (f) => /^(src|workers|test|examples|bench|scripts|clients|docs|deploy)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    );
    if (missing.length > 0 || unwanted.length > 0)
      throw new Error(`missing ${JSON.stringify(missing)}, unwanted ${JSON.stringify(unwanted.slice(0, 10))}`);
    tarball = join(packDir, packed!.filename);
    return `${packed!.filename}, ${files.length} files`;
  });

  await step('a fresh project outside the repository', () => {
    if (!relative(ROOT, work).startsWith('..')) throw new Error(`${work} is inside the repository`);
    cpSync(fileURLToPath(new URL('package-check/consumer/', import.meta.url)), project, { recursive: true });
    const manifest = { name: 'my-notes', version: '1.0.0', private: true, type: 'module', scripts: { build: 'tsc -p .' } };
    writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    return project;
  });

  let cli: string | undefined;
  await step('npm install the tarball', async () => {
    // the app's own imports of kysely and typebox, at the versions idemq is built on (one copy each)
    const own = ['kysely', 'typebox'].map((name) => `${name}@${pkg.dependencies[name]}`);
    await run('npm', ['install', '--no-audit', '--no-fund', tarball, ...own, 'typescript@5'], { cwd: project });
    const installed = join(project, 'node_modules', 'idemq');
    if (lstatSync(installed).isSymbolicLink()) throw new Error('node_modules/idemq is a link, not an installed copy');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version: string; bin?: Record<string, string> };
    if (manifest.version !== pkg.version) throw new Error(`installed idemq ${manifest.version}, packed ${pkg.version}`);
    cli = manifest.bin?.idemq === undefined ? undefined : join(installed, manifest.bin.idemq);
    return `idemq ${manifest.version}${cli ? ', with its CLI' : ''}`;
  });

  if (cli) {
    // run by the Node.js under test, not by whatever `node` the CLI's shebang finds first
    await step('idemq --help', async () => `${(await run(NODE, [cli!, '--help'], { cwd: project })).split('\n').length} lines`);
  }

  const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  await step('tsc (TypeScript 5) compiles the app against the declarations', async () => {
    await run(NODE, [tsc, '-p', '.'], { cwd: project });
    return (await run(NODE, [tsc, '--version'], { cwd: project })).trim();
  });

  await step("the package's declarations check without skipLibCheck", async () => {
    const out = await run(NODE, [tsc, '-p', '.', '--noEmit', '--skipLibCheck', 'false'], { cwd: project, allowFailure: true });
    const ours = out.split('\n').filter((line) => line.startsWith('node_modules/idemq/'));
    if (ours.length > 0) throw new Error(`\n${ours.slice(0, 20).join('\n')}`);
    const others = out.split('\n').filter((line) => /error TS\d+/.test(line)).length;
    return others === 0 ? 'no error' : `no error in idemq's (${others} in other packages' declarations)`;
  });

  await admin.connect();
  cleanups.push(() => admin.end());
  await step('a fresh database', async () => {
    await admin.query(`create database ${database}`);
    cleanups.push(() => admin.query(`drop database if exists ${database} with (force)`));
    return database;
  });

  const upstream = await startUpstream();
  cleanups.push(() => upstream.close());
  const routesFile = join(project, 'routes.json');
  writeFileSync(routesFile, JSON.stringify([{ name: 'echo.create', route: '/v1/echo', upstream: upstream.url, maxAttempts: 2 }], null, 2));
  const [port, adminPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: queuePrefix,
    API_KEYS: `check:${secret}`,
    HOST: '127.0.0.1',
    PORT: String(port),
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: String(adminPort),
    ADMIN_TOKEN: adminToken,
    FORWARD_ROUTES_FILE: routesFile,
    LOG_LEVEL: 'warn',
    SHUTDOWN_DRAIN_MS: '0',
  };
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  cleanups.push(async () => {
    await redis.connect();
    const keys = await redis.keys(`${queuePrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    console.log(`      cleanup: ${keys.length} Redis keys of prefix ${queuePrefix} removed`);
  });

  const appDb = new pg.Client({ connectionString: databaseUrl });
  await step('migrate (runMigrateProcess)', async () => {
    await run(NODE, ['build/migrate.js'], { cwd: project, env });
    await appDb.connect();
    cleanups.push(() => appDb.end());
    const { rows } = await appDb.query<{ schema: string; n: number }>(
      "select table_schema as schema, count(*)::int as n from information_schema.tables where table_schema in ('idemq', 'notes') group by 1 order by 1",
    );
    if (rows.length !== 2) throw new Error(`tables by schema: ${JSON.stringify(rows)}`);
    return rows.map((r) => `${r.n} tables in ${r.schema}`).join(', ');
  });

  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
  const complete = async (route: string, key: string, body: unknown) => {
    const res = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    const accepted = (await res.json()) as { id?: string };
    if (res.status !== 202 || !accepted.id) throw new Error(`POST ${route}: ${res.status} ${JSON.stringify(accepted)}`);
    const done = await fetch(`${base}/v1/requests/${accepted.id}?wait=20`, { headers });
    const view = (await done.json()) as { status: string; result?: Record<string, unknown>; error?: unknown };
    if (view.status !== 'succeeded') throw new Error(`request ${accepted.id}: ${done.status} ${JSON.stringify(view)}`);
    return { id: accepted.id, result: view.result! };
  };

  /** Starts the service as `how` says, completes one request of each kind, and stops it with SIGTERM. */
  const serve = async (how: string, start: () => Started[]) => {
    const processes: Started[] = [];
    cleanups.push(() => Promise.all(processes.map((p) => p.kill())));
    await step(`serve: ${how}`, async () => {
      processes.push(...start());
      await waitFor(30_000, async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true, processes);
      return `${base}, admin on ${adminPort}`;
    });

    await step('  an operation request: 202, then succeeded', async () => {
      const text = `hello from ${how}`;
      const { id: requestId, result } = await complete('/v1/notes', `note-${how}`, { text });
      const { rows } = await appDb.query<{ text: string }>('select text from notes.notes where id = $1', [result.noteId]);
      if (result.length !== text.length || rows[0]?.text !== text)
        throw new Error(`result ${JSON.stringify(result)}, rows ${JSON.stringify(rows)}`);
      return `request ${requestId}, note ${result.noteId}`;
    });

    await step('  a forwarded request: 202, then succeeded with the upstream answer', async () => {
      const { id: requestId, result } = await complete('/v1/echo', `echo-${how}`, { hello: how });
      const seen = upstream.received.at(-1);
      if (result.status !== 201 || !seen?.idempotencyKey || seen.body !== JSON.stringify({ hello: how })) {
        throw new Error(`result ${JSON.stringify(result)}, upstream saw ${JSON.stringify(seen)}`);
      }
      return `request ${requestId}, upstream answered ${result.status}`;
    });

    await step("  the admin console's assets are served from dist/", async () => {
      const res = await fetch(`http://127.0.0.1:${adminPort}/console/console.js`, { headers: { authorization: `Bearer ${adminToken}` } });
      const text = await res.text();
      if (res.status !== 200 || text.length < 100) throw new Error(`GET /console/console.js: ${res.status}`);
      return `console.js, ${text.length} bytes`;
    });

    await step('  SIGTERM: every process stops gracefully', async () => {
      const codes = await Promise.all(processes.map((p) => p.stop(20_000)));
      if (codes.some((code) => code !== 0)) throw new Error(`exit codes ${JSON.stringify(codes)}`);
      return `exit code${codes.length > 1 ? 's' : ''} ${codes.join(' and ')}`;
    });
  };

  await serve('the API (runApiProcess) and the worker (runWorkerProcess)', () => [
    startProcess('api', NODE, ['build/api.js'], { cwd: project, env, logDir: work }),
    startProcess('worker', NODE, ['build/worker.js'], { cwd: project, env, logDir: work }),
  ]);
  if (!cli) return;

  // the command, as `npx idemq start` runs it, but on the Node.js under test
  const cliEnv = { ...env, FORWARD_ROUTES_FILE: '' };
  await serve('idemq start --app build/app.js --routes routes.json', () => [
    startProcess('idemq-start', NODE, [cli!, 'start', '--app', 'build/app.js', '--routes', 'routes.json'], {
      cwd: project,
      env: cliEnv,
      logDir: work,
    }),
  ]);

  await scaffold(cli, tarball);
}

/**
 * `idemq init` in a new directory beside the project, then its own `npm install && npm test`
 * (against a fresh database of its own), with idemq from the tarball.
 */
async function scaffold(cli: string, tarball: string): Promise<void> {
  const dir = join(work, 'my-app');
  await step('idemq init my-app', async () => {
    await run(NODE, [cli, 'init', dir, '--dependency', tarball], { cwd: work });
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    if (!manifest.dependencies?.idemq) throw new Error(`its package.json has no dependency on idemq: ${JSON.stringify(manifest)}`);
    return `${dir}, idemq: ${manifest.dependencies.idemq}`;
  });
  await step('  npm install', () => run('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir }).then(() => undefined));
  const testDatabase = `${database}_init`;
  await step('  npm test (its test runs the operation through the real service)', async () => {
    await admin.query(`create database ${testDatabase}`);
    cleanups.push(() => admin.query(`drop database if exists ${testDatabase} with (force)`));
    const env = {
      ...process.env,
      TEST_DATABASE_URL: Object.assign(new URL(ADMIN_DATABASE_URL), { pathname: `/${testDatabase}` }).href,
      TEST_QUEUE_PREFIX: `${queuePrefix}_init`,
      REDIS_URL,
    };
    const out = stripVTControlCharacters(await run('npm', ['test'], { cwd: dir, env }));
    const passed = out.split('\n').find((line) => /^\s*Tests\s+\d+ passed/.test(line));
    if (!passed) throw new Error(`npm test exited 0 but no test passed:\n${out.trim().split('\n').slice(-20).join('\n')}`);
    return passed.trim();
  });
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  if (!(err instanceof Error) || !err.message) console.error(err);
} finally {
  for (const cleanup of cleanups.reverse()) {
    await Promise.resolve()
      .then(cleanup)
      .catch((err: unknown) => console.log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
  }
  if (!failed) rmSync(work, { recursive: true, force: true });
  else console.log(`kept for inspection: ${work}`);
}
console.log(failed ? 'package check failed' : 'package check passed');
process.exit(failed ? 1 : 0);
