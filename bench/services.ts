import type { ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited, spawnNode, stopChild } from './spawn.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const LOG_DIR = join(ROOT, 'bench/results/logs');

export interface Service {
  name: string;
  child: ChildProcess;
  pid: number;
  port?: number;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a repository script as a child process, its output in bench/results/logs/<name>.log. */
export function startScript(name: string, script: string, opts: { env: NodeJS.ProcessEnv; args?: string[]; profileDir?: string }): Service {
  mkdirSync(LOG_DIR, { recursive: true });
  const log = openSync(join(LOG_DIR, `${name}.log`), 'w');
  const nodeArgs = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const child = spawnNode(join(ROOT, script), { env: opts.env, nodeArgs, args: opts.args ?? [], stdio: ['ignore', log, log] });
  if (!child.pid) throw new Error(`could not start ${name}`);
  return { name, child, pid: child.pid };
}

/** Polls `url` until it answers 200, the child exits, or `timeoutMs` passes. */
export async function waitHttpReady(service: Service, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited(service.child).then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${service.name} exited during start-up; see ${join(LOG_DIR, `${service.name}.log`)}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${service.name} not ready at ${url} after ${timeoutMs} ms; see ${join(LOG_DIR, `${service.name}.log`)}`);
}

export async function stopServices(services: readonly Service[], graceMs = 15_000): Promise<void> {
  await Promise.all(services.map((s) => stopChild(s.child, graceMs)));
}
