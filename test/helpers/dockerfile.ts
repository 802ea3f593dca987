import { readFileSync } from 'node:fs';

export interface Copy {
  /** the stage copied from (`--from=`), or undefined for the build context */
  from: string | undefined;
  sources: string[];
  dest: string;
}

export interface Stage {
  name: string;
  /** the image or the earlier stage it starts from */
  from: string;
  workdir: string;
  /** the stage's own ENV settings (those of the stage it starts from are not repeated) */
  env: Record<string, string>;
  copies: Copy[];
  runs: string[];
  user: string | undefined;
  /** exec form only, as the project writes it */
  cmd: string[] | undefined;
  entrypoint: string[] | undefined;
}

/**
 * The stages of a Dockerfile, as far as this project's Dockerfile uses the syntax: FROM … AS …,
 * WORKDIR, ENV name=value, COPY [--from=stage] sources… dest, RUN, USER, CMD and ENTRYPOINT in
 * exec form; comments and continuation lines. Anything else throws, so the tests that read the
 * image never skip an instruction they do not understand.
 */
export function parseDockerfile(path: string | URL): Stage[] {
  const text = readFileSync(path, 'utf8').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [, instruction, rest] = /^([A-Z]+)\s+(.*)$/.exec(line) ?? [];
    if (instruction === 'FROM') {
      const [, from, name] = /^(\S+)\s+AS\s+(\S+)$/i.exec(rest!) ?? [];
      if (!from) throw new Error(`every stage is named (FROM <image> AS <name>): ${line}`);
      const base = stages.find((s) => s.name === from);
      stages.push({
        name: name!,
        from,
        workdir: base?.workdir ?? '/',
        env: {},
        copies: [],
        runs: [],
        user: base?.user,
        cmd: base?.cmd,
        entrypoint: base?.entrypoint,
      });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`an instruction before the first FROM: ${line}`);
    switch (instruction) {
      case 'WORKDIR':
        stage.workdir = rest!;
        break;
      case 'ENV': {
        const m = /^([A-Z_][A-Z0-9_]*)=(\S*)$/.exec(rest!);
        if (!m) throw new Error(`ENV name=value, one a line: ${line}`);
        stage.env[m[1]!] = m[2]!;
        break;
      }
      case 'COPY': {
        const words = rest!.split(/\s+/);
        const from = words[0]!.startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
        stage.copies.push({ from, sources: words.slice(0, -1), dest: words.at(-1)! });
        break;
      }
      case 'RUN':
        stage.runs.push(rest!);
        break;
      case 'USER':
        stage.user = rest;
        break;
      case 'CMD':
      case 'ENTRYPOINT': {
        const value = JSON.parse(rest!) as string[];
        if (instruction === 'CMD') stage.cmd = value;
        else stage.entrypoint = value;
        break;
      }
      case 'EXPOSE':
        break;
      default:
        throw new Error(`an instruction the image's tests do not read: ${line}`);
    }
  }
  return stages;
}

/** The environment a process of `stage` starts with: its own ENV over those of the stages it is built FROM. */
export function stageEnv(stages: Stage[], name: string): Record<string, string> {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  return { ...(stages.some((s) => s.name === stage.from) ? stageEnv(stages, stage.from) : {}), ...stage.env };
}
