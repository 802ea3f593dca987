import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every module specifier a file names: static and type imports, re-exports, dynamic import(). */
export function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const re of [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]) {
    for (const m of source.matchAll(re)) found.push(m[1]!);
  }
  return found;
}

/** The repository path a relative specifier of `file` resolves to; undefined for a package. */
function target(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return relative(ROOT, resolve(ROOT, dirname(file), specifier));
}

/** `idemq` and `idemq/worker` (package.json `exports`) */
const PUBLIC_ENTRIES = ['src/index.ts', 'workers/index.ts'];

/** `file: specifier` for each import that crosses the boundary. */
export function violations(
  files: readonly string[],
  read: (file: string) => string = (f) => readFileSync(join(ROOT, f), 'utf8'),
): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const specifier of importSpecifiers(read(file))) {
      const to = target(file, specifier);
      if (to === undefined) continue;
      const inCore = file.startsWith('src/') || file.startsWith('workers/');
      // the core knows no app
      if (inCore && to.startsWith('examples/')) out.push(`${file}: ${specifier}`);
      // an app knows the core only through its public entries: the core's and the worker's
      if (file.startsWith('examples/') && (to.startsWith('src/') || to.startsWith('workers/')) && !PUBLIC_ENTRIES.includes(to))
        out.push(`${file}: ${specifier}`);
    }
  }
  return out;
}

/** `file: specifier` for each import of workers/ by a file of src/: the worker wing imports the core, never the reverse. */
export function coreImportsOfWorkers(files: readonly string[], read: (file: string) => string = readRepoFile): string[] {
  return files
    .filter((file) => file.startsWith('src/'))
    .flatMap((file) =>
      importSpecifiers(read(file))
        .filter((specifier) => target(file, specifier)?.startsWith('workers/'))
        .map((specifier) => `${file}: ${specifier}`),
    );
}

const readRepoFile = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Fastify and its plugins: `fastify`, `fastify/…`, `fastify-…`, `@fastify/…`. */
const FASTIFY_PACKAGE = /^(fastify($|[/-])|@fastify\/)/;
/** the API's and the admin server's modules, which are built on Fastify */
const isHttpModule = (file: string) => file.startsWith('src/http/') || file.startsWith('src/admin/') || file === 'src/app.ts';

/**
 * Follows every relative import (type imports and re-exports included) from `entries`, and returns
 * `chain -> what` for each Fastify package or HTTP module reached, the chain naming the files that lead there.
 */
export function fastifyReach(entries: readonly string[], read: (file: string) => string = readRepoFile): string[] {
  const via = new Map<string, string | undefined>(entries.map((e) => [e, undefined]));
  const queue = [...entries];
  const chain = (file: string): string => {
    const from = via.get(file);
    return from === undefined ? file : `${chain(from)} > ${file}`;
  };
  const found: string[] = [];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const specifier of importSpecifiers(read(file))) {
      const to = target(file, specifier);
      if (to === undefined) {
        if (FASTIFY_PACKAGE.test(specifier)) found.push(`${chain(file)} -> ${specifier}`);
        continue;
      }
      if (isHttpModule(to)) found.push(`${chain(file)} -> ${to}`);
      else if (!via.has(to)) {
        via.set(to, file);
        queue.push(to);
      }
    }
  }
  return found;
}

/**
 * Test files that run a shipped example on purpose, each with the reason; every other file of test/
 * runs on the neutral fixture app (test/fixtures/app) and imports nothing of examples/.
 */
export const RUN_EXAMPLES: Record<string, string> = {
  'test/helpers/global-setup.ts': "the migrated template holds every example app's tables, for the examples' own tests",
  'test/integration/client-outcome.test.ts': "the client's scenarios run on the ledger, typed by its paths (an example of a service's own)",
  'test/integration/client-retry.test.ts': "the client's scenarios run on the ledger, typed by its paths (an example of a service's own)",
  'test/integration/client-submit.test.ts': "the client's scenarios run on the ledger, typed by its paths (an example of a service's own)",
  'test/integration/legacy-layout.test.ts': "an upgrade from the releases that kept the core's and the ledger's tables in public",
  'test/integration/readme-snippets.test.ts': "the walk-through in docs/ is the ledger demo's",
};

/** `file: specifier` for each import of examples/ by a file of test/ that RUN_EXAMPLES does not name. */
export function testImportsOfExamples(
  files: readonly string[],
  read: (file: string) => string = (f) => readFileSync(join(ROOT, f), 'utf8'),
): string[] {
  const out: string[] = [];
  for (const file of files) {
    if (!file.startsWith('test/') || file in RUN_EXAMPLES) continue;
    for (const specifier of importSpecifiers(read(file))) {
      if (target(file, specifier)?.startsWith('examples/')) out.push(`${file}: ${specifier}`);
    }
  }
  return out;
}

describe('the boundary between the core and the apps on it', () => {
  it('no file of src/ or workers/ imports from examples/, and examples/ import the core only through src/index.ts and workers/index.ts', () => {
    const files = [...filesUnder('src'), ...filesUnder('workers'), ...filesUnder('examples')];
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => f.startsWith('examples/')).length).toBeGreaterThan(10);
    expect(violations(files)).toEqual([]);
  });

  it('catches each kind of crossing import, however it is written', () => {
    const sources: Record<string, string> = {
      'src/http/x.ts': "import { ledger } from '../../examples/ledger/app.ts';",
      'workers/x.ts': "export { createOrder } from '../examples/orders/orders.create.ts';",
      'examples/orders/x.ts': "import type { Database } from '../../src/db/database.ts';",
      'examples/orders/y.ts': "const m = await import('../../workers/start-worker.ts');",
      'examples/orders/z.ts':
        "import {\n  defineOperation,\n} from '../../src/index.ts';\nimport Type from 'typebox';\nimport { createOrder } from './orders.create.ts';",
      'examples/orders/w.ts': "import { runWorkerProcess } from '../../workers/index.ts';",
    };
    expect(violations(Object.keys(sources), (f) => sources[f]!)).toEqual([
      'src/http/x.ts: ../../examples/ledger/app.ts',
      'workers/x.ts: ../examples/orders/orders.create.ts',
      'examples/orders/x.ts: ../../src/db/database.ts',
      'examples/orders/y.ts: ../../workers/start-worker.ts',
    ]);
  });

  it("no file of test/ imports examples/: the core's tests run on the fixture app, except the ones that run an example on purpose", () => {
    // this file names examples/ in the sources of its cases, not in imports of its own
    const self = relative(ROOT, fileURLToPath(import.meta.url));
    const files = filesUnder('test').filter((f) => f !== self);
    expect(files.length).toBeGreaterThan(80);
    expect(testImportsOfExamples(files)).toEqual([]);
    // an allowance for a file that no longer exists, or no longer imports an example, is stale
    for (const file of Object.keys(RUN_EXAMPLES))
      expect(
        importSpecifiers(readFileSync(join(ROOT, file), 'utf8')).some((s) => target(file, s)?.startsWith('examples/')),
        file,
      ).toBe(true);
  });

  it("catches a core test that imports an example, however it is written, and lets an example's own tests be", () => {
    const sources: Record<string, string> = {
      'test/integration/x.test.ts': "import { ledger } from '../../examples/ledger/app.ts';",
      'test/helpers/y.ts': "const { orders } = await import('../../examples/orders/app.ts');",
      'test/integration/z.test.ts': "import { fixture } from '../fixtures/app/app.ts';",
      'test/integration/readme-snippets.test.ts': "import { createLedgerContext } from '../../examples/ledger/test/ledger-seed.ts';",
      'examples/ledger/test/w.test.ts':
        "import { createTestContext } from '../../../test/helpers/context.ts';\nimport { ledger } from '../app.ts';",
    };
    expect(testImportsOfExamples(Object.keys(sources), (f) => sources[f]!)).toEqual([
      'test/integration/x.test.ts: ../../examples/ledger/app.ts',
      'test/helpers/y.ts: ../../examples/orders/app.ts',
    ]);
  });
});

describe('imports one way: the worker wing imports the core, and nothing of Fastify', () => {
  it('no file of src/ imports workers/', () => {
    const files = filesUnder('src');
    expect(files.length).toBeGreaterThan(50);
    expect(coreImportsOfWorkers(files)).toEqual([]);
  });

  it('catches an import of workers/ from src/, a type import or a re-export too', () => {
    const sources: Record<string, string> = {
      'src/index.ts': "export { startWorker } from '../workers/start-worker.ts';",
      'src/http/x.ts': "import type { WorkerHandle } from '../../workers/index.ts';",
      'src/y.ts': "import { a } from './workers-like.ts';\nconst b = await import('../workers/main.ts');",
      'workers/z.ts': "import { startWorker } from './start-worker.ts';",
    };
    expect(coreImportsOfWorkers(Object.keys(sources), (f) => sources[f]!)).toEqual([
      'src/index.ts: ../workers/start-worker.ts',
      'src/http/x.ts: ../../workers/index.ts',
      'src/y.ts: ../workers/main.ts',
    ]);
  });

  it('from workers/index.ts and workers/main.ts, no import, type imports included, reaches Fastify, src/http/, src/admin/ or src/app.ts', () => {
    expect(fastifyReach(['workers/index.ts', 'workers/main.ts'])).toEqual([]);
  });

  it('catches a Fastify package or an HTTP module however deep, and names the chain', () => {
    const sources: Record<string, string> = {
      'workers/index.ts': "export { run } from './run.ts';",
      'workers/main.ts': "import { run } from './run.ts';",
      'workers/run.ts': "import type { IdemqApp } from '../src/app-definition.ts';\nimport { limits } from '../src/net/limits.ts';",
      'src/app-definition.ts': "import type { AppRoutes } from './app.ts';",
      'src/net/limits.ts':
        "import type { FastifyReply } from 'fastify';\nimport '@fastify/websocket';\nimport { x } from '../http/problem.ts';\nimport { Type } from 'typebox';",
    };
    expect(fastifyReach(['workers/index.ts', 'workers/main.ts'], (f) => sources[f]!)).toEqual([
      'workers/index.ts > workers/run.ts > src/app-definition.ts -> src/app.ts',
      'workers/index.ts > workers/run.ts > src/net/limits.ts -> fastify',
      'workers/index.ts > workers/run.ts > src/net/limits.ts -> src/http/problem.ts',
      'workers/index.ts > workers/run.ts > src/net/limits.ts -> @fastify/websocket',
    ]);
  });
});

/** The core's tables: every `create table idemq.<name>` of its migrations. */
function coreTables(): string[] {
  const tables = filesUnder('src/db/migrations').flatMap((f) =>
    [...readFileSync(join(ROOT, f), 'utf8').matchAll(/\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?idemq\.(\w+)/gi)].map((m) => m[1]!),
  );
  return [...new Set(tables)].sort();
}

/** Where each core table's statements live: the repositories of the stage that owns it. */
const TABLE_HOMES: Record<string, string> = {
  requests: 'src/idempotency/',
  outbox: 'src/outbox/',
  api_keys: 'src/keys/',
  admin_sessions: 'src/admin/',
  deployment: 'src/db/',
};

/** The schema's migrations and its table types name every table; nothing else is exempt. */
const isSchemaFile = (file: string) => file.startsWith('src/db/migrations/') || file === 'src/db/database.ts';

/**
 * `file: idemq.<table>` for each file that names a core table (in SQL text or as a Kysely table
 * name) outside a repository (`*.repository.ts`) of the table's home, and `file: withSchema('idemq')`
 * for a Kysely query that would name its tables without the schema.
 */
export function tableViolations(
  files: readonly string[],
  tables: readonly string[],
  read: (file: string) => string = (f) => readFileSync(join(ROOT, f), 'utf8'),
): string[] {
  const out: string[] = [];
  const named = new RegExp(`\\bidemq\\.(${tables.join('|')})\\b`, 'g');
  for (const file of files) {
    if (isSchemaFile(file)) continue;
    const source = read(file);
    const isRepository = file.endsWith('.repository.ts');
    for (const table of new Set([...source.matchAll(named)].map((m) => m[1]!))) {
      const home = TABLE_HOMES[table];
      if (!isRepository || home === undefined || !file.startsWith(home)) out.push(`${file}: idemq.${table}`);
    }
    if (/\bwithSchema\(\s*['"`]idemq['"`]\s*\)/.test(source)) out.push(`${file}: withSchema('idemq')`);
  }
  return out;
}

describe('every statement on an idemq.* table lives in a repository of its stage', () => {
  it('no file of src/ or workers/ outside the repositories names a core table', () => {
    const tables = coreTables();
    expect(tables).toEqual(expect.arrayContaining(['requests', 'outbox', 'api_keys', 'admin_sessions', 'deployment']));
    // a new table needs a home here before any statement may use it
    expect(tables.filter((t) => TABLE_HOMES[t] === undefined)).toEqual([]);
    const files = [...filesUnder('src'), ...filesUnder('workers')];
    expect(files.filter((f) => f.endsWith('.repository.ts')).length).toBeGreaterThan(5);
    expect(tableViolations(files, tables)).toEqual([]);
  });

  it('catches SQL text, Kysely table names and a repository of another stage, and ignores names that only look alike', () => {
    const sources: Record<string, string> = {
      'workers/expiry.ts': "await db.deleteFrom('idemq.requests').where('id', '=', id).execute();",
      'src/metrics.ts': 'await sql`select count(*)\n  from idemq.outbox`.execute(db);',
      'src/idempotency/request-lease.repository.ts':
        'update idemq.requests r set …; insert into idemq.outbox (request_id, payload) select …',
      'src/queue/queue-owner.ts': "const q = db.withSchema('idemq').selectFrom('deployment');",
      'src/outbox/outbox.repository.ts': 'delete from idemq.outbox where id in (select id from idemq.outbox limit 1)',
      'src/http/operations.routes.ts': "span.setAttributes({ 'idemq.request_id': id, 'idemq.operation': name, 'idemq.outbox_lag': 0 });",
      'src/db/migrations/2026_01_01_001_x.ts': 'create table idemq.requests ()',
      'src/db/database.ts': "'idemq.requests': RequestTable;",
    };
    expect(tableViolations(Object.keys(sources), ['requests', 'outbox', 'deployment'], (f) => sources[f]!)).toEqual([
      'workers/expiry.ts: idemq.requests',
      'src/metrics.ts: idemq.outbox',
      'src/idempotency/request-lease.repository.ts: idemq.outbox',
      "src/queue/queue-owner.ts: withSchema('idemq')",
    ]);
  });
});
