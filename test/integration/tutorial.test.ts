import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../infra/free-port.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { TEST_SERVICES } from '../helpers/services.ts';
import { fileOfBlock, filesOfBlocks, markdownBlocks as blocks } from '../helpers/markdown-blocks.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TUTORIAL = readFileSync(join(ROOT, 'docs/tutorial.md'), 'utf8');

/**
 * The reader's `npx idemq`, `npm install` and `npm test`, on this repository instead of the registry:
 * the command is bin/idemq.ts, and the install links the project to the repository's sources
 * (test/helpers/scaffold-links.ts); the tarball check proves the same through a real install.
 */
const PRELUDE = `
npx() { if [ "$1" = idemq ]; then shift; "$IDEMQ_NODE" "$IDEMQ_ROOT/bin/idemq.ts" "$@"; else command npx "$@"; fi; }
npm() {
  case "$1" in
    install) "$IDEMQ_NODE" --input-type=module -e "import('$IDEMQ_ROOT/test/helpers/scaffold-links.ts').then((m) => m.linkScaffoldToRepository(process.cwd()))" ;;
    test) "$IDEMQ_NODE" "$IDEMQ_ROOT/node_modules/vitest/vitest.mjs" run ;;
    *) command npm "$@" ;;
  esac
}
`;

type Running = { child: ChildProcess; done: Promise<{ code: number | null; output: string }> };

const bash = (script: string, cwd: string, env: NodeJS.ProcessEnv): Running => run('bash', ['-c', `${PRELUDE}\n${script}`], cwd, env);

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => child.once('close', (code) => resolve({ code, output })));
  return { child, done };
}

describe('docs/tutorial.md, typed as written in a fresh directory outside the repository', () => {
  const parent = mkdtempSync(join(tmpdir(), 'idemq-tutorial-'));
  let service: Running | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    if (service && service.child.exitCode === null) service.child.kill('SIGTERM');
    await service?.done;
    rmSync(parent, { recursive: true, force: true });
    await drop?.();
  });

  it('creates the project, passes its test, adds the counter, and counts each key once over HTTP', async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    const port = await freePort();
    const prefix = `tutorial-${randomBytes(4).toString('hex')}`;
    const { API_KEYS: _keys, NODE_ENV: _env, ...inherited } = process.env;
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      IDEMQ_NODE: process.execPath,
      IDEMQ_ROOT: ROOT,
      DATABASE_URL: database.url,
      TEST_DATABASE_URL: database.url,
      REDIS_URL: TEST_SERVICES.redisUrl,
      QUEUE_PREFIX: prefix,
      TEST_QUEUE_PREFIX: prefix,
      PORT: String(port),
      ADMIN_PORT: '0',
      LOG_LEVEL: 'warn',
      BASE: `http://127.0.0.1:${port}`,
    };
    let cwd = parent;
    let last = '';
    const all = blocks(TUTORIAL);
    expect(all.filter((b) => b.lang === 'bash').length).toBeGreaterThanOrEqual(4);
    for (const [i, block] of all.entries()) {
      const file = fileOfBlock(block);
      if (file) {
        mkdirSync(dirname(join(cwd, file.path)), { recursive: true });
        writeFileSync(join(cwd, file.path), file.text);
      } else if (block.lang === 'bash' && /^npx idemq start\b/.test(block.body)) {
        // "leave it running": in the background, until it is ready (the command itself, so SIGTERM reaches it)
        service = run(process.execPath, [join(ROOT, 'bin/idemq.ts'), ...block.body.split(/\s+/).slice(2)], cwd, env);
        for (let ready = false; !ready; await new Promise((r) => setTimeout(r, 100))) {
          if (service.child.exitCode !== null) throw new Error(`idemq start exited:\n${(await service.done).output}`);
          ready = (await fetch(`${env.BASE}/readyz`).catch(() => undefined))?.ok ?? false;
        }
      } else if (block.lang === 'bash') {
        const { code, output } = await bash(`set -e -o pipefail\n${block.body}\npwd > "${parent}/.cwd"`, cwd, env).done;
        expect(code, `block ${i}:\n${block.body}\n${output}`).toBe(0);
        cwd = readFileSync(join(parent, '.cwd'), 'utf8').trim();
        last = output;
      } else if (block.lang === '') {
        // what the page says the block before it prints
        const printed = last.split('\n').map((l) => l.trimEnd());
        for (const line of block.body.split('\n')) expect(printed, `the page says "${line}" is printed`).toContainEqual(line);
      }
    }
    expect(cwd).toBe(join(parent, 'my-app'));
    expect(last).toContain('"value":7');
    service!.child.kill('SIGTERM');
    expect((await service!.done).code).toBe(0);
  });

  it('reads the blocks in order, with their language, and the files the page has written', () => {
    const page = 'a\n```bash\nls\n```\ntext\n```ts\n// x.ts\nlet a;\n```\n```\nout\n```\n```ts\nlet b;\n```\n';
    expect(filesOfBlocks(page)).toEqual([{ path: 'x.ts', text: 'let a;\n' }]);
    expect(blocks(page).slice(0, 3)).toEqual([
      { lang: 'bash', body: 'ls' },
      { lang: 'ts', body: '// x.ts\nlet a;' },
      { lang: '', body: 'out' },
    ]);
  });
});
