import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from './wait-until.ts';

export const NGINX_BINARY = '/usr/sbin/nginx';
const SHIPPED_CONFIG = new URL('../../deploy/nginx/idemq.conf', import.meta.url);

export interface PrivateNginx {
  port: number;
  /** nginx's own error log, for a failing test's message */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * deploy/nginx/idemq.conf with only its listen address and upstream servers' addresses replaced
 * (each keeps the first server line's parameters, e.g. max_fails); throws if the file no longer
 * has them where this expects, so the test cannot drift from the shipped file.
 */
export function templateConfig(shipped: string, listenPort: number, upstreams: string[]): string {
  const servers = /^( *)server [^\s;]+([^\n;]*);\n(?:\1server [^\n;]+;\n)*/m;
  const listen = /^( *)listen 3000;$/m;
  if (!servers.test(shipped) || !listen.test(shipped))
    throw new Error('deploy/nginx/idemq.conf: upstream servers or `listen 3000;` not found');
  return shipped
    .replace(servers, (_all, indent: string, params: string) => upstreams.map((u) => `${indent}server ${u}${params};\n`).join(''))
    .replace(listen, (_all, indent: string) => `${indent}listen 127.0.0.1:${listenPort};`);
}

/**
 * Debian's nginx as a private foreground process (one process, no daemon) on a free loopback
 * port, running the shipped configuration in front of `upstreams` (host:port), with its prefix,
 * pid, logs and temp files under a temp folder removed by `stop`.
 */
export async function startNginx(upstreams: string[]): Promise<PrivateNginx> {
  const dir = await mkdtemp(join(tmpdir(), 'idemq-nginx-'));
  await mkdir(join(dir, 'logs'));
  const port = await freePort();
  await writeFile(join(dir, 'idemq.conf'), templateConfig(await readFile(SHIPPED_CONFIG, 'utf8'), port, upstreams));
  const temp = (name: string) => join(dir, name);
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
pid ${temp('nginx.pid')};
error_log ${temp('logs/error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  include ${temp('idemq.conf')};
}
`,
  );
  const errorLog = () => readFile(temp('logs/error.log'), 'utf8').catch(() => '');
  const child: ChildProcess = spawn(NGINX_BINARY, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', temp('logs/error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntil(
      'nginx to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}${await errorLog()}`);
        return new Promise<boolean>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
          socket.once('error', () => resolve(false));
        });
      },
      { timeoutMs: 10_000 },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`nginx did not start: ${stderr}${await errorLog()}`, { cause: err });
  }
  return {
    port,
    errorLog,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
