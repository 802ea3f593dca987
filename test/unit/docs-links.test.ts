import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The text of a Markdown page without its fenced blocks and inline code, where links are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = heading!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** Every relative link of a page, as written: `[text](target)`, external and mail links left out. */
export function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z][a-z+.-]*:/i.test(t));
}

/** The links of `file` (relative to the root) that name no existing file, or no heading of the page they name. */
function brokenLinks(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return relativeLinks(text).filter((link) => {
    const [path = '', anchor] = link.split('#');
    const target = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURI(path));
    if (!existsSync(target)) return true;
    if (anchor === undefined) return false;
    if (statSync(target).isDirectory() || !target.endsWith('.md')) return true;
    return !anchors(readFileSync(target, 'utf8')).has(anchor);
  });
}

const pages = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => relative(ROOT, join(ROOT, 'docs', f))),
];

describe('the links between the README and the docs', () => {
  it.each(pages)('every relative link of %s names an existing file and heading', (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });

  it('the README links to every page of docs/', () => {
    const linked = new Set(relativeLinks(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((l) => l.split('#')[0]));
    expect(pages.filter((p) => p !== 'README.md' && !linked.has(p))).toEqual([]);
  });

  it('reads anchors as GitHub makes them and finds a link that is gone', () => {
    const page = '# A page\n## Keys: refresh, revocation\n## Limits\n## Limits\n```\n## not a heading\n```\n';
    expect([...anchors(page)]).toEqual(['a-page', 'keys-refresh-revocation', 'limits', 'limits-1']);
    expect(relativeLinks('[a](docs/x.md#y) [b](https://e.org) `[c](z.md)` [d](#limits)')).toEqual(['docs/x.md#y', '#limits']);
  });
});
