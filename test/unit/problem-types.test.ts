import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { problem } from '../../src/http/problem.ts';
import { PROBLEM_TYPES } from '../../src/http/problem-types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const slugs = Object.keys(PROBLEM_TYPES).sort();

function filesUnder(dir: string, extension: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(extension))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

describe('the problem types', () => {
  it('are the ones docs/api.md lists, no more and no fewer', () => {
    const readme = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
    const paragraph = readme.slice(readme.indexOf('`https://idemq.dev/problems/`'), readme.indexOf('4xx answers carry neither'));
    const listed = [...paragraph.matchAll(/`([a-z]+(?:-[a-z]+)*)`/g)].map((m) => m[1]!).filter((word) => word !== 'errors');
    expect([...new Set(listed)].sort()).toEqual(slugs);
  });

  it('every `…/slug` the README, the docs and the OpenAPI descriptions mention is in the table', () => {
    const texts = ['README.md', ...filesUnder('docs', '.md'), ...filesUnder('src', '.ts')].map((file) =>
      readFileSync(join(ROOT, file), 'utf8'),
    );
    const mentioned = new Set(texts.flatMap((text) => [...text.matchAll(/…\/([a-z]+(?:-[a-z]+)*)/g)].map((m) => m[1]!)));
    expect(mentioned.size).toBeGreaterThan(10);
    expect([...mentioned].filter((slug) => !(slug in PROBLEM_TYPES))).toEqual([]);
  });

  it('build a problem with the title and status of the table', () => {
    expect(problem('not-found', 'Request x does not exist.')).toEqual({
      status: 404,
      slug: 'not-found',
      title: 'Not found',
      detail: 'Request x does not exist.',
    });
    expect(problem('bad-request', 'no', { status: 405 })).toEqual({ status: 405, slug: 'bad-request', title: 'Bad request', detail: 'no' });
    // @ts-expect-error a slug that is not in the table does not compile
    const unknown = () => problem('no-such-problem');
    expect(unknown).toThrow();
  });

  it('no problem is written out in the source: each one takes its title and status from the table', () => {
    const literals = filesUnder('src', '.ts').flatMap((file) =>
      [...readFileSync(join(ROOT, file), 'utf8').matchAll(/status: (\d+),\s*slug: '([a-z-]+)',\s*title: '([^']+)'/g)].map((m) => ({
        file,
        status: Number(m[1]),
        slug: m[2]!,
        title: m[3]!,
      })),
    );
    expect(literals).toEqual([]);
  });
});
