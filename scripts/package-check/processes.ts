import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * Runs a command to its end and returns its output (stdout then stderr; only stdout with
 * `stdoutOnly`); rejects with the tail of both when it exits non-zero, unless `allowFailure`.
 */
export function run(
  command: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; allowFailure?: boolean; stdoutOnly?: boolean },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      if (err && !opts.allowFailure)
        reject(
          new Error(`${command} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${out.trim().split('\n').slice(-30).join('\n')}`, {
            cause: err,
          }),
        );
      else resolve(opts.stdoutOnly ? stdout : out);
    });
  });
}

export interface Started {
  name: string;
  child: ChildProcess;
  /** the process's output so far (its log file) */
  output(): string;
  /** SIGTERM, then the exit code; SIGKILL and a rejection if it has not exited within `ms` */
  stop(ms: number): Promise<number | null>;
  /** ends the process if it still runs (cleanup) */
  kill(): Promise<void>;
}

/** Starts a long-running process, its output into `<logDir>/<name>.log`. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; logDir: string },
): Started {
  const logFile = join(opts.logDir, `${name}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (ms: number) => {
    if (running()) child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} did not exit within ${ms} ms of SIGTERM`));
      }, ms);
    });
    return Promise.race([exited, late]).finally(() => clearTimeout(timer));
  };
  return {
    name,
    child,
    output: () => readFileSync(logFile, 'utf8'),
    stop,
    kill: async () => {
      if (running()) await stop(10_000).catch(() => undefined);
    },
  };
}

/** Polls `ready` until it holds; rejects after `ms`, or as soon as one of `processes` exits, with its output. */
export async function waitFor(ms: number, ready: () => Promise<boolean>, processes: Started[]): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ended = processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (ended)
      throw new Error(
        `${ended.name} exited (${ended.child.exitCode ?? ended.child.signalCode}):\n${ended.output().trim().split('\n').slice(-30).join('\n')}`,
      );
    if (await ready()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `not ready within ${ms} ms:\n${processes.map((p) => `--- ${p.name}\n${p.output().trim().split('\n').slice(-15).join('\n')}`).join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** An upstream service for a forward route: answers every POST 201 and records what it got. */
export async function startUpstream(): Promise<{
  url: string;
  received: { idempotencyKey?: string; body: string }[];
  close(): Promise<void>;
}> {
  const received: { idempotencyKey?: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ idempotencyKey: req.headers['idempotency-key'] as string | undefined, body });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ echoed: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/echo`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
