import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../bin/commands/index.ts';
import { parseForwardRoutes } from '../../src/operations/forward/forward-route.ts';
import { parseDockerfile, stageEnv } from '../helpers/dockerfile.ts';

// docker-compose.yml, checked by reading (no Docker engine here): every service's lines, as written.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const servicesText = text.slice(text.indexOf('\nservices:\n'), text.indexOf('\nnetworks:\n'));
const services = new Map(
  servicesText
    .split(/\n(?= {2}[a-z0-9-]+:(?: &[a-z0-9-]+)?\n)/)
    .slice(1)
    .map((block) => [/^ {2}([a-z0-9-]+):/.exec(block)![1]!, block] as const),
);
/** The service's text, with the anchors it names (`<<: *name`, `volumes: *name`) spelled out after it. */
function service(name: string): string {
  const block = services.get(name)!;
  const merged = [...block.matchAll(/\*([a-z0-9-]+)/g)].map(([, anchor]) => {
    const at = text.indexOf(`&${anchor}`);
    const owner = [...services.keys()].find((s) => services.get(s)!.includes(`&${anchor}`));
    return owner ? service(owner) : text.slice(at, text.indexOf('\n\n', at));
  });
  return [block, ...merged].join('\n');
}
const command = (name: string) =>
  /command: \[(.*)\]/
    .exec(service(name))?.[1]
    ?.split(', ')
    .map((w) => w.replace(/^'|'$/g, ''));
const profiles = (name: string) => /profiles: \[(.*)\]/.exec(services.get(name)!)?.[1];
const gatewayEnv = stageEnv(parseDockerfile(join(ROOT, 'Dockerfile')), 'gateway');

describe('docker-compose.yml', () => {
  it('runs the gateway by default: idemq migrate, api and worker, the image built from this directory', () => {
    const byDefault = [...services.keys()].filter((name) => profiles(name) === undefined);
    expect(byDefault.sort()).toEqual(['api-1', 'api-2', 'migrate', 'nginx', 'postgres', 'redis', 'upstream', 'worker']);
    expect({ migrate: command('migrate'), api1: command('api-1'), api2: command('api-2'), worker: command('worker') }).toEqual({
      migrate: ['idemq', 'migrate'],
      api1: ['idemq', 'api'],
      api2: ['idemq', 'api'],
      worker: ['idemq', 'worker'],
    });
    for (const name of ['migrate', 'api-1', 'api-2', 'worker']) expect(service(name)).toMatch(/^ +build: \.$/m);
    expect(COMMANDS.map((c) => c.name)).toEqual(expect.arrayContaining(['migrate', 'api', 'worker']));
  });

  it("mounts a valid routes file where the image reads it, naming the upstream service's address", () => {
    for (const name of ['api-1', 'api-2', 'worker']) {
      const [, source, target] = /- \.\/(\S+\.json):(\S+):ro/.exec(service(name)) ?? [];
      expect(target, name).toBe(gatewayEnv.FORWARD_ROUTES_FILE);
      const routes = parseForwardRoutes(JSON.parse(readFileSync(join(ROOT, source!), 'utf8')), source!);
      expect(routes.problems).toEqual([]);
      const [, port, host] =
        command('upstream')!
          .slice(-2)
          .join(' ')
          .match(/^(\d+) (\S+)$/) ?? [];
      expect(host).toBe('0.0.0.0');
      for (const route of routes.routes) expect(new URL(route.upstream).host).toBe(`upstream:${port}`);
    }
    expect(service('upstream')).toContain('- ./examples/upstream:/upstream:ro');
    expect(command('upstream')![1]).toBe('/upstream/server.ts');
  });

  it("puts the ledger demo in the `ledger` profile, on the image's ledger target, a database and queue prefix of its own", () => {
    const ledger = [...services.keys()].filter((name) => profiles(name) !== undefined);
    expect(ledger.sort()).toEqual(['ledger-api', 'ledger-migrate', 'ledger-worker']);
    const stages = parseDockerfile(join(ROOT, 'Dockerfile')).map((s) => s.name);
    for (const name of ledger) {
      expect(profiles(name)).toBe('ledger');
      const [, target] = /target: ([a-z0-9-]+)/.exec(service(name)) ?? [];
      expect(stages).toContain(target);
      const [node, file] = command(name)!;
      expect(node).toBe('node');
      expect(existsSync(join(ROOT, file!)), file).toBe(true);
      expect(service(name)).toMatch(/DATABASE_URL: postgres:\/\/\S+\/ledger$/m);
    }
    for (const name of ['ledger-api', 'ledger-worker']) expect(service(name)).toMatch(/QUEUE_PREFIX: ledger$/m);
  });

  it('names only services it declares in depends_on, and files that exist in its mounts', () => {
    for (const [name, block] of services) {
      const dependsOn = block.slice(block.indexOf('depends_on:'));
      if (!block.includes('depends_on:')) continue;
      for (const [, dependency] of dependsOn.matchAll(/^ {6}([a-z0-9-]+):$/gm))
        expect([...services.keys()], `${name} → ${dependency}`).toContain(dependency);
    }
    for (const [, source] of text.matchAll(/- \.\/(\S+?):\//g)) expect(existsSync(join(ROOT, source!)), source).toBe(true);
  });
});
