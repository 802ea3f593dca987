import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvSchema } from '../../src/config.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';

/** The text of the `# title` or `## title` section of a page of docs/, up to the next `## `. */
function section(page: string, title: string): string {
  const text = readFileSync(new URL(`../../docs/${page}`, import.meta.url), 'utf8');
  const start = Math.max(text.indexOf(`# ${title}\n`), text.indexOf(`\n## ${title}\n`));
  expect(start, `docs/${page}, section ${title}`).toBeGreaterThanOrEqual(0);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

const ticked = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);

/** Rows of the Configuration table: the variables a row names and the defaults it states. */
function settingsRows(): { names: string[]; defaults: string[] }[] {
  return section('configuration.md', 'Configuration')
    .split('\n')
    .filter((l) => /^\| `[A-Z_]+`/.test(l))
    .map((l) => {
      const [, names = '', defaults = ''] = l.split('|').map((c) => c.trim());
      return { names: ticked(names), defaults: ticked(defaults) };
    });
}

describe('the settings table and the limits of the docs against the code', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext();
    app = await ctx.startApi();
  });
  afterAll(() => ctx?.close());

  it('every default in the settings table is the default src/config.ts applies', () => {
    const schema = EnvSchema.properties as Record<string, { default?: unknown }>;
    let compared = 0;
    for (const { names, defaults } of settingsRows()) {
      if (names.length !== defaults.length) continue; // a default stated in words
      names.forEach((name, i) => {
        expect(Object.keys(schema), `docs/configuration.md names ${name}`).toContain(name);
        const stated = defaults[i]!;
        // a default that names another setting is that setting's value: none of its own in the schema
        if (stated !== name && Object.hasOwn(schema, stated)) expect(schema[name]!.default, `${name}'s default`).toBeUndefined();
        else expect(String(schema[name]!.default), `${name}'s default`).toBe(stated);
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(20);
  });

  it('the open routes "Limits" names are the public API\'s, and none of the admin port\'s', async () => {
    const bullet = section('api.md', 'Limits')
      .split('\n- ')
      .find((b) => b.startsWith('**Per client address**'));
    const routes = ticked(bullet ?? '').filter((t) => t.startsWith('/'));
    expect(routes.length).toBeGreaterThan(0);
    for (const url of routes) {
      const res = await app.inject({ url });
      expect(res.statusCode, `GET ${url} on the API`).not.toBe(404);
    }
    for (const url of ['/metrics', '/docs', '/docs/json']) expect(routes).not.toContain(url);
  });
});
